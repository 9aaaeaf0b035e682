"""The editor's preview: unsaved copy rendered through the real renderer for a sample or chosen reader, with the
inert links of every staff preview, and a dark variant of the HTML for readers whose mail app is in dark mode."""

import re
from dataclasses import dataclass, field

from emails.content.checks import copy_problems
from emails.content.text import CopyText
from emails.models import ScheduledEmail, is_marketing_step
from emails.preview import render_email_preview
from leads.models import Lead


def sample_lead() -> Lead:
    """A reader who does not exist (never saved): previews need no real person's name or address."""
    return Lead(email="sam.sample@example.com", first_name="Sam", time_zone="Europe/London",
                status=Lead.Status.SUBSCRIBED)


def preview_row(lead: Lead, step: str) -> ScheduledEmail:
    """An unsaved outbox row: rendering it queues nothing."""
    # As in the outbox admin's preview: marketing mail has the marketing stream's footer and headers.
    stream = ScheduledEmail.Stream.MARKETING if is_marketing_step(step) else ScheduledEmail.Stream.TRANSACTIONAL
    return ScheduledEmail(lead=lead, step=step, stream=stream)


_DARK_BLOCK = re.compile(r"@media[^{]*prefers-color-scheme:\s*dark[^{]*\{")


def _dark_rules(html: str) -> str:
    """The rules inside the layout's `@media (prefers-color-scheme: dark)` blocks (braces matched by count)."""
    rules = []
    for match in _DARK_BLOCK.finditer(html):
        depth, start = 1, match.end()
        for index in range(start, len(html)):
            depth += {"{": 1, "}": -1}.get(html[index], 0)
            if depth == 0:
                rules.append(html[start:index])
                break
    return "\n".join(rules)


def force_dark(html: str) -> str:
    """The HTML as a mail app in dark mode shows it: the layout's dark rules applied unconditionally.

    An iframe follows the browser's colour scheme, not a switch on the page, so the editor shows this variant
    rather than asking the marketer to change their system setting to see it.
    """
    style = f"<style>:root{{color-scheme:dark}}\n{_dark_rules(html)}</style>"
    return html.replace("</head>", f"{style}</head>", 1) if "</head>" in html else style + html


@dataclass
class CopyPreview:
    subject: str = ""
    preheader: str = ""
    text: str = ""
    html: str = ""
    html_dark: str = ""
    problems: dict[str, list[str]] = field(default_factory=dict)
    failed: bool = False  # the copy could not be rendered at all (see problems)

    def as_json(self) -> dict[str, object]:
        return {"subject": self.subject, "preheader": self.preheader, "text": self.text, "html": self.html,
                "html_dark": self.html_dark, "problems": self.problems, "failed": self.failed}


def copy_preview(step: str, text: CopyText, lead: Lead | None = None) -> CopyPreview:
    """`text` rendered as `step` for `lead` (the sample reader when None), plus the checks' messages."""
    lead = lead or sample_lead()
    problems = copy_problems(step, text)
    try:
        rendered = render_email_preview(lead, preview_row(lead, step), copy=text)
    except Exception:  # noqa: BLE001 - half-typed copy may not render; the checks say why, the page must not fail
        return CopyPreview(preheader=text.preheader, problems=problems or {
            "body": ["This copy cannot be rendered; check the Markdown and the merge fields."]}, failed=True)
    return CopyPreview(subject=rendered.subject, preheader=text.preheader, text=rendered.text, html=rendered.html,
                       html_dark=force_dark(rendered.html), problems=problems)

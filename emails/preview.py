"""Staff previews and test sends.

Whoever sees a preview (any staff user, view-only ones included) or receives a test send must not hold a link
that acts for the reader: signing in as them, confirming for them, changing their settings, clicking for them.
So the email is rendered with leads.tokens in inert mode, every token-bearing link becomes a dead marker, and
the output says so where staff look.
"""

import re
from typing import Any

from emails.compose import RenderedEmail
from emails.content.text import CopyText
from emails.message import build_message
from emails.mime import DripMessage
from emails.models import ScheduledEmail
from emails.rendering import render_email
from leads import tokens
from leads.models import Lead

PREVIEW_NOTICE = "PREVIEW: links that would act for this reader are disabled (marked PREVIEW_LINK_DISABLED)."
_PREVIEW_STYLE = (
    f'<style>a[href*="{tokens.INERT_TOKEN}"]{{outline:2px dashed #b00020;cursor:not-allowed}}'
    f'a[href*="{tokens.INERT_TOKEN}"]::after{{content:" [link disabled in preview]";color:#b00020;'
    "font-weight:normal;font-size:12px}</style>"
)
_PREVIEW_BANNER = (
    '<div role="note" style="background:#b00020;color:#fff;padding:8px 12px;font:14px/1.4 sans-serif">'
    f"{PREVIEW_NOTICE}</div>"
)


def _mark_preview_html(html: str) -> str:
    html = html.replace("</head>", f"{_PREVIEW_STYLE}</head>", 1)
    body = re.search(r"<body[^>]*>", html)
    return html[: body.end()] + _PREVIEW_BANNER + html[body.end():] if body else _PREVIEW_BANNER + html


def render_email_preview(lead: Lead, row: ScheduledEmail, *, copy: CopyText | None = None) -> RenderedEmail:
    """The email as the dispatcher would render it now (or with `copy`, e.g. an unsaved draft), with every
    token-bearing link inert and visibly marked."""
    with tokens.inert():
        rendered = render_email(lead, row, copy=copy, reuse_step_render=False)
    return RenderedEmail(subject=rendered.subject, text=f"[{PREVIEW_NOTICE}]\n\n{rendered.text}",
                         html=_mark_preview_html(rendered.html), unsubscribe_url=rendered.unsubscribe_url)


def build_test_message(lead: Lead, row: ScheduledEmail, *, to: str, connection: Any = None,
                       copy: CopyText | None = None) -> DripMessage:
    """A test send of `row` to `to`: the preview's inert links, subject marked [TEST], and no metadata tying the
    ESP's events about it (a bounce from a mistyped address) to the lead or a row."""
    rendered = render_email_preview(lead, row, copy=copy)
    with tokens.inert():
        message = build_message(lead, row, rendered, to=to, connection=connection)
    message.subject = f"[TEST] {message.subject}"
    message.metadata = {"step": row.step, "test_send": "true"}
    return message

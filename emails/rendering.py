"""One renderer for every email: the step's copy (Markdown with merge fields, emails/content) inside the MJML layout
(emails/layout), CSS inlined, and a text part from the same Markdown.

Links that carry tokens are made here, at send time, never stored in rows. Other areas add what their emails
need through `register_context_provider` (so `emails` never imports `funnel`).
"""

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from typing import Any

import css_inline
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse

from emails.content.current import ChosenCopy, copy_for_row
from emails.content.markdown import RenderedCopy, render_copy
from emails.content.merge import TAGGABLE_LINKS, split_tagged
from emails.content.text import CopyText
from emails.content.values import values_from_context
from emails.first_reminder import first_reminder_words
from emails.mime import DripMessage
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from leads import tokens
from leads.models import TAG_NAME, Lead

ContextProvider = Callable[[Lead, ScheduledEmail], dict[str, Any]]

# (provider, steps or None for every step), in registration order: later providers may override earlier keys.
_providers: list[tuple[ContextProvider, frozenset[str] | None]] = []

REMINDER_STEPS = frozenset(step for step in SEQUENCE_STEPS if step.startswith("day-"))
WELCOME_STEP = SEQUENCE_STEPS[0]
CLICK_TARGETS = ("free_guide", "upgrade", "full_guide", "app")


def register_context_provider(fn: ContextProvider, *, steps: Iterable[str] | None = None) -> ContextProvider:
    """fn(lead, row) -> dict, merged into the template context at send time. Usable as a plain call.

    Registering the same function twice (a module imported again) replaces the first registration.
    """
    global _providers
    _providers = [(f, s) for f, s in _providers if f is not fn]
    _providers.append((fn, frozenset(steps) if steps is not None else None))
    return fn


def unregister_context_provider(fn: ContextProvider) -> None:
    global _providers
    _providers = [(f, s) for f, s in _providers if f is not fn]


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    unsubscribe_url: str = ""


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


_TOKEN_SLOT = "TOKENSLOT"


@lru_cache(maxsize=32)
def _url_pattern(name: str) -> str | None:
    """The absolute URL of `name` with a slot for the token: one reverse() per process, not one per email."""
    try:
        return _absolute(reverse(name, args=[_TOKEN_SLOT]))
    except NoReverseMatch:
        # Another area's URL may not be wired yet in a partial checkout; an email must still render.
        return None


@receiver(setting_changed)
def _forget_url_patterns(*, setting: str, **_: Any) -> None:
    if setting in ("ROOT_URLCONF", "SITE_URL"):
        _url_pattern.cache_clear()


def _url_with_token(name: str, token: str) -> str:
    # Signed tokens only use URL-safe characters (base64url and ':'), exactly what reverse() would emit.
    pattern = _url_pattern(name)
    return pattern.replace(_TOKEN_SLOT, token) if pattern else ""


def click_url(*, row: ScheduledEmail, target: str, tag: str = "") -> str:
    """A link through our signed redirect, so a click (and later revenue) is credited to this exact row. With a
    `tag`, the reader who follows it (a person's press, not a scanner's GET) gets that tag."""
    payload: dict[str, object] = {"row": row.pk, "lead": row.lead_id, "t": target}
    if tag:
        payload["tag"] = tag
    return _url_with_token("email-click", tokens.sign("click", payload))


def unsubscribe_url(lead: Lead) -> str:
    return _url_with_token("unsubscribe-one-click", tokens.sign("unsubscribe", {"lead": lead.pk}))


def preferences_url(lead: Lead) -> str:
    return _url_with_token("preferences", tokens.sign("preferences", {"lead": lead.pk}))


class ClickLinks(dict[str, str]):
    """`links.<target>` for templates, signed only when a template uses it (most emails use two of four)."""

    def __init__(self, row: ScheduledEmail) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, name: str) -> str:
        target, tag = _click_link(name)
        url = self[name] = click_url(row=self.row, target=target, tag=tag)
        return url


def _click_link(name: str) -> tuple[str, str]:
    """(target, tag) of a tracked link's name, `free_guide` or `free_guide;tag=interested` (a tagging link,
    emails/content/merge.py); KeyError for a name that is neither, so the copy shows the link as missing (or, for a
    bad tag, untagged: the copy checks refuse both before anything is published)."""
    target, tag = split_tagged(name)
    if target not in CLICK_TARGETS or (tag and (target not in TAGGABLE_LINKS or not TAG_NAME.fullmatch(tag))):
        raise KeyError(name)
    return target, tag


def signin_hint_url(lead_id: int) -> str:
    """The sign-in page with this buyer's address prefilled (funnel's signin_hint_read): one press mails them a
    link. Never `/app/` itself: in a browser that is not signed in that page sells the guide again."""
    try:
        path = reverse("signin")
    except NoReverseMatch:
        return ""
    return _absolute(f"{path}?for={tokens.sign('signin-hint', {'lead': lead_id})}")


def base_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    links = ClickLinks(row)
    context: dict[str, Any] = {
        "lead": lead,
        # Empty when we have no name: templates word greetings and subjects to read well without one.
        "first_name": lead.first_name.strip(),
        "row": row,
        "step": row.step,
        "site_url": settings.SITE_URL,
        "preferences_url": preferences_url(lead),
        "unsubscribe_url": unsubscribe_url(lead),
        "postal_address": settings.COMPANY_POSTAL_ADDRESS,
        "is_marketing": row.stream == ScheduledEmail.Stream.MARKETING,
        "links": links,
    }
    if row.step in REMINDER_STEPS:
        context["day_number"] = int(row.step.split("-", 1)[1])
        # Read at send time: a reader who bought yesterday gets today's session, never another sales pitch.
        context["signin_hint_url"] = signin_hint_url(lead.pk) if lead.is_customer else ""
    if row.step == WELCOME_STEP:
        context["first_reminder"] = first_reminder_words(lead, row)
    return context


def _extra_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    """The row's own context, then every provider registered for this step, later ones winning."""
    extra = dict(row.context or {})
    for provider, steps in _providers:
        if steps is None or row.step in steps:
            extra.update(provider(lead, row))
    return extra


def email_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    context = base_context(lead, row)
    context.update(_extra_context(lead, row))
    return context


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # Style tags are kept so the dark-mode media query (which cannot be inlined) still reaches clients.
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    # Subjects and text parts are not HTML: "Tom & Jerry" must not arrive as "Tom &amp; Jerry".
    return get_template(name).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]


def _layout_blocks(rendered: RenderedCopy) -> dict[str, Any]:
    # Each block starts on its own line, as the layout's blocks always have (the output is compared byte for byte).
    return {"preheader": rendered.preheader, "button": rendered.button,
            "content_html": "\n" + rendered.content_html if rendered.content_html else "",
            "after_html": "\n" + rendered.after_html if rendered.after_html else ""}


def _render_copy(copy: CopyText, context: dict[str, Any], *, buyer: bool) -> tuple[str, str, str]:
    rendered = render_copy(copy, values_from_context(context, buyer=buyer))
    footer = _render_plain("emails/_footer.txt", context)
    text = re.sub(r"\n{3,}", "\n\n", f"{rendered.text}\n\n{footer}").strip() + "\n"
    # The subject is also the HTML's <title> (and its name for screen readers), as a browser shows a web view.
    html = _inliner().inline(get_template("emails/_copy.html").render(
        {**context, "subject": rendered.subject, "copy": _layout_blocks(rendered)}))
    return rendered.subject, text, html


@lru_cache(maxsize=1)
def layout_bytes() -> int:
    """The size of the layout around the copy, for the 100 KB check (emails/content/checks.py)."""
    empty = {"preheader": "", "button": None, "content_html": "", "after_html": ""}
    return len(get_template("emails/_copy.html").render({"copy": empty, "postal_address": "x" * 200,
                                                          "preferences_url": "x" * 300,
                                                          "unsubscribe_url": "x" * 300}).encode())


def render_email(lead: Lead, row: ScheduledEmail, *, copy: CopyText | None = None,
                 reuse_step_render: bool = True) -> RenderedEmail:
    """The email for `row`, from `copy` when given (previews, test sends), else from the row's copy: its
    experiment arm or the step's published version (emails/content/current.py)."""
    if copy is not None:
        return render_chosen(lead, row, ChosenCopy(text=copy, version=None, variant=None), reuse_step_render=False)
    return render_chosen(lead, row, copy_for_row(lead, row), reuse_step_render=reuse_step_render)


def render_chosen(lead: Lead, row: ScheduledEmail, chosen: ChosenCopy, *,
                  reuse_step_render: bool = True) -> RenderedEmail:
    """The email for `row` from copy already chosen (the dispatcher records the choice on the row)."""
    extra = _extra_context(lead, row)
    if (reuse_step_render and chosen.version is not None and not extra and row.step in SEQUENCE_STEPS
            and not settings.DEBUG):
        fast = _render_from_step_cache(lead, row, chosen)
        if fast is not None:
            return fast
    context = base_context(lead, row)
    context.update(extra)
    subject, text, html = _render_copy(chosen.text, context, buyer=lead.is_customer)
    return RenderedEmail(subject=subject, text=text, html=html, unsubscribe_url=context["unsubscribe_url"])


# --- Rendering a sequence step once, not once per reader -------------------------------------------------------
# The sequence's copy depends on the reader only through a few values (name, personal links, the welcome's first
# reminder) and on three switches (stream, buyer or not, named or not: greetings are worded without a name).
# So each (step, stream, buyer, named) of each copy (version, arm) is rendered and CSS-inlined once with
# unguessable slot markers in place of those values, and kept split at the slots; each email joins the pieces with
# its own values: the same output as a full render (a test compares both) at a fraction of the cost. Used only
# when no provider adds anything for the row.

_SLOT_MARK = secrets.token_hex(6)
_SLOT_RE = re.compile(f"slot{_SLOT_MARK}([a-z0-9_-]+){_SLOT_MARK}")  # a tag's name may hold digits and "-"
_TAG_SLOT = "__tag_"  # link_free_guide__tag_interested: the tagging link `free_guide;tag=interested`
# Subject, text and HTML, each as _SLOT_RE.split() leaves it: literal text at even indexes, slot names at odd ones.
Pieces = list[str]
# (step, stream, buyer, named, version, variant id): versions are never edited in place, so an entry never goes
# stale, and a new version or arm simply gets its own.
StepKey = tuple[str, str, bool, bool, int, int | None]
_step_cache: dict[StepKey, tuple[Pieces, Pieces, Pieces] | None] = {}
STEP_CACHE_LIMIT = 512  # many publishes in one long-lived process: start over rather than grow


def _slot(name: str) -> str:
    return f"slot{_SLOT_MARK}{name}{_SLOT_MARK}"


@receiver(setting_changed)
def _forget_step_renders(*, setting: str, **_: Any) -> None:
    if setting in ("TEMPLATES", "SITE_URL", "COMPANY_POSTAL_ADDRESS", "ROOT_URLCONF", "DEFAULT_FROM_EMAIL"):
        _step_cache.clear()


class _SlotLinks(dict[str, str]):
    """`links` of a step render: a slot per tracked link the copy uses, tagging links included."""

    def __missing__(self, name: str) -> str:
        target, tag = _click_link(name)
        slot = self[name] = _slot(f"link_{target}" + (f"{_TAG_SLOT}{tag}" if tag else ""))
        return slot


def _prerender(key: StepKey, copy: CopyText) -> tuple[Pieces, Pieces, Pieces] | None:
    step, stream, is_customer, named, _version, _variant = key
    if not all(_url_pattern(name) for name in ("email-click", "preferences", "unsubscribe-one-click")):
        return None  # a missing link must render as missing, which slots cannot express
    links = _SlotLinks()
    context: dict[str, Any] = {
        "first_name": _slot("first_name") if named else "", "step": step, "site_url": settings.SITE_URL,
        "preferences_url": _slot("preferences_url"), "unsubscribe_url": _slot("unsubscribe_url"),
        "postal_address": settings.COMPANY_POSTAL_ADDRESS, "is_marketing": stream == ScheduledEmail.Stream.MARKETING,
        "links": links,
    }
    if step in REMINDER_STEPS:
        context["day_number"] = int(step.split("-", 1)[1])
        context["signin_hint_url"] = _slot("signin_hint_url") if is_customer else ""
    if step == WELCOME_STEP:
        context["first_reminder"] = _slot("first_reminder")
    subject, text, html = _render_copy(copy, context, buyer=is_customer)
    return _SLOT_RE.split(subject), _SLOT_RE.split(text), _SLOT_RE.split(html)


def _render_from_step_cache(lead: Lead, row: ScheduledEmail, chosen: ChosenCopy) -> RenderedEmail | None:
    first_name = lead.first_name.strip()
    if any(char in first_name for char in '"<>'):
        # The name is also in an attribute (the subject names the email for screen readers), where css-inline
        # leaves < and > unescaped and Django escapes quotes: take the full render.
        return None
    key: StepKey = (row.step, row.stream, lead.is_customer, bool(first_name), chosen.version or 0,
                    chosen.variant.pk if chosen.variant else None)
    if key not in _step_cache:
        if len(_step_cache) >= STEP_CACHE_LIMIT:
            _step_cache.clear()
        _step_cache[key] = _prerender(key, chosen.text)
    cached = _step_cache[key]
    if cached is None:
        return None
    subject, text, html = cached
    unsubscribe = unsubscribe_url(lead)
    raw: dict[str, str] = {"first_name": first_name, "unsubscribe_url": unsubscribe}

    def value(name: str) -> str:
        if name not in raw:
            if name == "preferences_url":
                raw[name] = preferences_url(lead)
            elif name == "first_reminder":
                raw[name] = first_reminder_words(lead, row)
            elif name == "signin_hint_url":
                raw[name] = signin_hint_url(lead.pk)
            else:
                target, _, tag = name.removeprefix("link_").partition(_TAG_SLOT)
                raw[name] = click_url(row=row, target=target, tag=tag)
        return raw[name]

    def html_value(name: str) -> str:
        # Escaped the way css-inline serialises text after a full render (it rewrites Django's entities).
        return value(name).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")

    def fill(pieces: Pieces, fill_slot: Callable[[str], str]) -> str:
        return "".join(piece if i % 2 == 0 else fill_slot(piece) for i, piece in enumerate(pieces))

    return RenderedEmail(subject=" ".join(fill(subject, value).split()), text=fill(text, value),
                         html=fill(html, html_value), unsubscribe_url=unsubscribe)


# --- Staff previews and test sends ------------------------------------------------------------------------------
# Whoever sees a preview (any staff user, view-only ones included) or receives a test send must not hold a link
# that acts for the reader: signing in as them, confirming for them, changing their settings, clicking for them.
# So the email is rendered with leads.tokens in inert mode, every token-bearing link becomes a dead marker, and
# the output says so where staff look.

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
                       copy: CopyText | None = None) -> "DripMessage":
    """A test send of `row` to `to`: the preview's inert links, subject marked [TEST], and no metadata tying the
    ESP's events about it (a bounce from a mistyped address) to the lead or a row."""
    rendered = render_email_preview(lead, row, copy=copy)
    with tokens.inert():
        message = build_message(lead, row, rendered, to=to, connection=connection)
    message.subject = f"[TEST] {message.subject}"
    message.metadata = {"step": row.step, "test_send": "true"}
    return message


def _sender_domain() -> str:
    return _domain_of(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=4)
def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "painreset.example"


def _list_id() -> str:
    return f"Pain Reset 7-day plan <reminders.{_sender_domain()}>"


FEEDBACK_ID_PRODUCT = "painreset"
POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"


def feedback_id(row: ScheduledEmail) -> str:
    """Gmail's Feedback-ID, `campaign:stream:product:sender` (README): Postmaster Tools reports complaints per
    value of each field, so the email that draws them shows by name. The same for every reader of an email, never
    per message or per person, as Gmail asks; the ESP's DKIM signature covers it."""
    return f"{row.step}:{row.stream}:{FEEDBACK_ID_PRODUCT}:{_sender_domain()}"


def stream_esp_extra(stream: str) -> dict[str, Any]:
    """The ESP stream for this kind of mail, as anymail's esp_extra: complaints about the drip then weigh on the
    marketing stream's reputation, never on the one that carries sign-in links and receipts."""
    marketing = stream == ScheduledEmail.Stream.MARKETING
    configured = settings.ESP_EXTRA_MARKETING if marketing else settings.ESP_EXTRA_TRANSACTIONAL
    if configured:
        return dict(configured)  # a copy: some backends pop their own keys out of it
    if settings.EMAIL_BACKEND == POSTMARK_BACKEND:
        return {"MessageStream": settings.POSTMARK_MARKETING_STREAM if marketing
                else settings.POSTMARK_TRANSACTIONAL_STREAM}
    return {}


def build_message(lead: Lead, row: ScheduledEmail, rendered: RenderedEmail, *, to: str | None = None,
                  connection: Any = None) -> DripMessage:
    """The message for one row: replies go to REPLY_TO_EMAIL, the row's stream picks the ESP stream, and marketing
    mail carries RFC 8058 one-click unsubscribe headers."""
    marketing = row.stream == ScheduledEmail.Stream.MARKETING
    # Our own Message-ID: backends without an ESP id (SMTP) still give the row an id to find it by.
    headers: dict[str, str] = {"Message-ID": make_msgid(idstring=f"row{row.pk or 'test'}", domain=_sender_domain()),
                               "Feedback-ID": feedback_id(row)}
    one_click = rendered.unsubscribe_url or unsubscribe_url(lead)
    if marketing and one_click:
        headers["List-Unsubscribe"] = f"<{one_click}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if marketing:
        headers["List-Id"] = _list_id()
    message = DripMessage(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL if marketing else settings.TRANSACTIONAL_FROM_EMAIL,
        to=[to or lead.email or ""],
        reply_to=[settings.REPLY_TO_EMAIL] if settings.REPLY_TO_EMAIL else None,
        headers=headers,
        connection=connection,
        tags=[row.step],
        metadata={"lead_id": str(lead.pk), "step": row.step, "row_id": str(row.pk)},
        esp_extra=stream_esp_extra(row.stream),
    )
    message.attach_alternative(rendered.html, "text/html")
    return message

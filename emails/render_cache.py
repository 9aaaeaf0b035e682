"""Rendering a sequence step once, not once per reader: the speed trick behind emails/rendering.py's render_chosen.

The sequence's copy depends on the reader only through a few values (name, personal links, the welcome's first
reminder) and on three switches (stream, buyer or not, named or not: greetings are worded without a name). So each
(step, stream, buyer, named) of each copy (version, arm) is rendered and CSS-inlined once, by the same context
builder as a full render (emails/context.py) with unguessable slot markers as the reader's values, and kept split
at the slots; each email joins the pieces with its own values: the same output as a full render (tests compare
both, and every shipped email against its snapshot) at a fraction of the cost.

The same path runs with DEBUG on and off, so `make run` sends what production sends. Entries are kept for the
life of the process: `make run` has no reloader, so an edit to the layout templates shows after a restart, as a
code change does (a new copy version is a new entry and shows at once).
"""

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from emails.compose import RenderedEmail, compose
from emails.content.current import ChosenCopy
from emails.content.merge import TAG_SEPARATOR
from emails.content.text import CopyText
from emails.context import LeadValues, template_context
from emails.links import click_link
from emails.models import ScheduledEmail
from leads.models import Lead

_SLOT_MARK = secrets.token_hex(6)
_SLOT_RE = re.compile(f"slot{_SLOT_MARK}([a-z0-9_-]+){_SLOT_MARK}")  # a tag's name may hold digits and "-"
_LINK_PREFIX = "link_"
_TAG_SLOT = "__tag_"  # link_free_guide__tag_interested: the tagging link `free_guide;tag=interested`
# Subject, text and HTML, each as _SLOT_RE.split() leaves it: literal text at even indexes, slot names at odd ones.
Pieces = list[str]
# (step, stream, buyer, named, version, variant id): versions are never edited in place, so an entry never goes
# stale, and a new version or arm simply gets its own.
StepKey = tuple[str, str, bool, bool, int, int | None]
_step_cache: dict[StepKey, tuple[Pieces, Pieces, Pieces]] = {}
STEP_CACHE_LIMIT = 512  # many publishes in one long-lived process: start over rather than grow


def _slot(name: str) -> str:
    return f"slot{_SLOT_MARK}{name}{_SLOT_MARK}"


class SlotLinks(dict[str, str]):
    """`links` of a step render: a slot per tracked link the copy uses, tagging links included."""

    def __missing__(self, name: str) -> str:
        target, tag = click_link(name)
        slot = self[name] = _slot(f"{_LINK_PREFIX}{target}" + (f"{_TAG_SLOT}{tag}" if tag else ""))
        return slot


def _link_name(slot: str) -> str:
    """The link name a SlotLinks slot stands for: `link_free_guide__tag_interested` -> `free_guide;tag=interested`."""
    target, _, tag = slot.removeprefix(_LINK_PREFIX).partition(_TAG_SLOT)
    return f"{target}{TAG_SEPARATOR}{tag}" if tag else target


class SlotValues:
    """Every reader's values as slot markers named after LeadValues' methods, which fill them in later."""

    def __init__(self, *, named: bool) -> None:
        self.named = named

    def first_name(self) -> str:
        return _slot("first_name") if self.named else ""

    def preferences_url(self) -> str:
        return _slot("preferences_url")

    def unsubscribe_url(self) -> str:
        return _slot("unsubscribe_url")

    def signin_hint_url(self) -> str:
        return _slot("signin_hint_url")

    def first_reminder(self) -> str:
        return _slot("first_reminder")

    def links(self) -> Mapping[str, str]:
        return SlotLinks()


def step_cache_forget() -> None:
    """Start over, as a new process would. For tests: a database that reuses ids after a rollback (SQLite) can give
    another test's variant the same key."""
    _step_cache.clear()


@receiver(setting_changed)
def _forget_step_renders(*, setting: str, **_: Any) -> None:
    if setting in ("TEMPLATES", "SITE_URL", "COMPANY_POSTAL_ADDRESS", "ROOT_URLCONF", "DEFAULT_FROM_EMAIL"):
        step_cache_forget()


def _prerender(key: StepKey, copy: CopyText) -> tuple[Pieces, Pieces, Pieces]:
    step, stream, buyer, named, _version, _variant = key
    context = template_context(step=step, stream=stream, buyer=buyer, reader=SlotValues(named=named))
    rendered = compose(copy, context, buyer=buyer)
    return _SLOT_RE.split(rendered.subject), _SLOT_RE.split(rendered.text), _SLOT_RE.split(rendered.html)


def _fill(pieces: Pieces, fill_slot: Callable[[str], str]) -> str:
    return "".join(piece if i % 2 == 0 else fill_slot(piece) for i, piece in enumerate(pieces))


def render_from_step_cache(lead: Lead, row: ScheduledEmail, chosen: ChosenCopy) -> RenderedEmail | None:
    """The email for `row` from the step's cached render; None when it needs a full render (a name the cache
    cannot hold). For rows no context provider adds to, from a published copy version (render_chosen decides)."""
    reader = LeadValues(lead, row)
    first_name = reader.first_name()
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
    subject, text, html = _step_cache[key]
    unsubscribe = reader.unsubscribe_url()
    values: dict[str, str] = {"first_name": first_name, "unsubscribe_url": unsubscribe}
    links = reader.links()

    def value(name: str) -> str:
        if name not in values:
            if name.startswith(_LINK_PREFIX):
                values[name] = links[_link_name(name)]
            else:
                values[name] = getattr(reader, name)()  # a slot is named after the LeadValues method that fills it
        return values[name]

    def html_value(name: str) -> str:
        # Escaped the way css-inline serialises text after a full render (it rewrites Django's entities).
        return value(name).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")

    return RenderedEmail(subject=" ".join(_fill(subject, value).split()), text=_fill(text, value),
                         html=_fill(html, html_value), unsubscribe_url=unsubscribe)

"""The template context of an email: one builder for every render, plus what other areas add.

What differs from reader to reader (name, personal links, the welcome's first reminder) comes from a
`ReaderValues`: the reader's own (`LeadValues`) for a full render, or the step cache's slot markers
(emails/render_cache.py), so the cache and a full render cannot drift apart.

Other areas add what their emails need through `register_context_provider` (so `emails` never imports `funnel`).
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from django.conf import settings

from emails.first_reminder import first_reminder_words
from emails.links import ClickLinks, preferences_url, signin_hint_url, unsubscribe_url
from emails.models import REMINDER_STEPS, SEQUENCE_STEPS, ScheduledEmail
from leads.models import Lead

ContextProvider = Callable[[Lead, ScheduledEmail], dict[str, Any]]

# (provider, steps or None for every step), in registration order: later providers may override earlier keys.
_providers: list[tuple[ContextProvider, frozenset[str] | None]] = []

WELCOME_STEP = SEQUENCE_STEPS[0]


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


def extra_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    """The row's own context, then every provider registered for this step, later ones winning."""
    extra = dict(row.context or {})
    for provider, steps in _providers:
        if steps is None or row.step in steps:
            extra.update(provider(lead, row))
    return extra


class ReaderValues(Protocol):
    """The context values that differ per reader; the builder asks only for those the step uses."""

    def first_name(self) -> str: ...
    def preferences_url(self) -> str: ...
    def unsubscribe_url(self) -> str: ...
    def signin_hint_url(self) -> str: ...
    def first_reminder(self) -> str: ...
    def links(self) -> Mapping[str, str]: ...


class LeadValues:
    """One reader's own values, for one row."""

    def __init__(self, lead: Lead, row: ScheduledEmail) -> None:
        self.lead, self.row = lead, row

    def first_name(self) -> str:
        # Empty when we have no name: templates word greetings and subjects to read well without one.
        return self.lead.first_name.strip()

    def preferences_url(self) -> str:
        return preferences_url(self.lead)

    def unsubscribe_url(self) -> str:
        return unsubscribe_url(self.lead)

    def signin_hint_url(self) -> str:
        return signin_hint_url(self.lead.pk)

    def first_reminder(self) -> str:
        return first_reminder_words(self.lead, self.row)

    def links(self) -> Mapping[str, str]:
        return ClickLinks(self.row)


def template_context(*, step: str, stream: str, buyer: bool, reader: ReaderValues) -> dict[str, Any]:
    """The context every email's layout and copy are rendered with, before providers add their part."""
    context: dict[str, Any] = {
        "first_name": reader.first_name(),
        "step": step,
        "site_url": settings.SITE_URL,
        "preferences_url": reader.preferences_url(),
        "unsubscribe_url": reader.unsubscribe_url(),
        "postal_address": settings.COMPANY_POSTAL_ADDRESS,
        "is_marketing": stream == ScheduledEmail.Stream.MARKETING,
        "links": reader.links(),
    }
    if step in REMINDER_STEPS:
        context["day_number"] = int(step.split("-", 1)[1])
        # Read at send time: a reader who bought yesterday gets today's session, never another sales pitch.
        context["signin_hint_url"] = reader.signin_hint_url() if buyer else ""
    if step == WELCOME_STEP:
        context["first_reminder"] = reader.first_reminder()
    return context


def email_context(lead: Lead, row: ScheduledEmail, *, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The whole context of one email: the template context for this reader, then `extra` (extra_context's)."""
    context = {"lead": lead, "row": row, **template_context(step=row.step, stream=row.stream,
                                                              buyer=lead.is_customer, reader=LeadValues(lead, row))}
    context.update(extra)
    return context

"""Links that carry signed tokens, made at send time and never stored in rows.

Every name reversed here must be routed: a mistyped or missing URL name raises NoReverseMatch, so the email fails
to render (and a test fails) rather than going out with a wrong or empty link. The sign-in page is `funnel`'s; it
is reversed by name, as the URLconf knows it, so `emails` still imports nothing from `funnel`.
"""

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import reverse

from emails.content.merge import TAGGABLE_LINKS, split_tagged
from emails.models import ScheduledEmail
from leads import tokens
from leads.models import TAG_NAME, Lead

# The tracked links an email may use as `links.<target>`.
CLICK_TARGETS = ("free_guide", "upgrade", "full_guide", "app")

_TOKEN_SLOT = "TOKENSLOT"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


@lru_cache(maxsize=32)
def _url_pattern(name: str) -> str:
    """The absolute URL of `name` with a slot for the token: one reverse() per process, not one per email."""
    return absolute_url(reverse(name, args=[_TOKEN_SLOT]))


@receiver(setting_changed)
def _forget_url_patterns(*, setting: str, **_: Any) -> None:
    if setting in ("ROOT_URLCONF", "SITE_URL"):
        _url_pattern.cache_clear()


def _url_with_token(name: str, token: str) -> str:
    # Signed tokens only use URL-safe characters (base64url and ':'), exactly what reverse() would emit.
    return _url_pattern(name).replace(_TOKEN_SLOT, token)


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


def signin_hint_url(lead_id: int) -> str:
    """The sign-in page with this buyer's address prefilled (funnel's signin_hint_read): one press mails them a
    link. Never `/app/` itself: in a browser that is not signed in that page sells the guide again."""
    return absolute_url(f"{reverse('signin')}?for={tokens.sign('signin-hint', {'lead': lead_id})}")


class ClickLinks(dict[str, str]):
    """`links.<target>` for templates, signed only when a template uses it (most emails use two of four)."""

    def __init__(self, row: ScheduledEmail) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, name: str) -> str:
        target, tag = click_link(name)
        url = self[name] = click_url(row=self.row, target=target, tag=tag)
        return url


def click_link(name: str) -> tuple[str, str]:
    """(target, tag) of a tracked link's name, `free_guide` or `free_guide;tag=interested` (a tagging link,
    emails/content/merge.py); KeyError for a name that is neither, so the copy shows the link as missing (or, for a
    bad tag, untagged: the copy checks refuse both before anything is published)."""
    target, tag = split_tagged(name)
    if target not in CLICK_TARGETS or (tag and (target not in TAGGABLE_LINKS or not TAG_NAME.fullmatch(tag))):
        raise KeyError(name)
    return target, tag

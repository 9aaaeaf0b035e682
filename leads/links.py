"""Resolving the signed links in emails to their lead, for the pages that act on them (leads.views, and the one
`funnel` flow reached from the preferences page: the time zone change).

Preferences tokens expire after 180 days; unsubscribe tokens never do: an unsubscribe only ever reduces mail, and
the law wants old links to keep working.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads import tokens
from leads.models import Lead

PREFERENCES_MAX_AGE = timedelta(days=180)


class InvalidLink(Exception):
    pass


def lead_from_token(purpose: str, token: str, max_age: timedelta | None) -> Lead:
    try:
        payload = tokens.unsign(purpose, token,
                                max_age_seconds=int(max_age.total_seconds()) if max_age else None)
        lead = Lead.objects.filter(pk=int(payload["lead"])).first()
    except (tokens.BadToken, KeyError, TypeError, ValueError):
        raise InvalidLink from None
    if lead is None:
        raise InvalidLink
    return lead


def invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/link_invalid.html", status=400)


def erased(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/erased.html")


def with_preferences_lead(
    view: Callable[[HttpRequest, str, Lead], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """Resolve the preferences token to its lead; a bad link or an erased lead gets its own page."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        try:
            lead = lead_from_token("preferences", token, PREFERENCES_MAX_AGE)
        except InvalidLink:
            return invalid_link(request)
        if lead.is_erased:
            return erased(request)
        return view(request, token, lead)

    return wrapper

"""Factories for the guide and app tests: leads in each buyer state, and signing them in."""

import itertools
from typing import Any

from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from leads.access import SESSION_LEAD, SESSION_VERSION
from leads.models import Lead
from leads.services import lead_make_customer, lead_revoke_access

_counter = itertools.count(1)


def make_lead(*, buyer: bool = False, **fields: Any) -> Lead:
    fields.setdefault("email", f"reader{next(_counter)}@example.com")
    fields.setdefault("status", Lead.Status.SUBSCRIBED)
    fields.setdefault("first_name", "Sam")
    lead = Lead.objects.create(**fields)
    if buyer:
        lead_make_customer(lead=lead)
        lead.refresh_from_db()
    return lead


def make_refunded_buyer(**fields: Any) -> Lead:
    lead = make_lead(buyer=True, **fields)
    lead_revoke_access(lead=lead)
    return lead


def sign_in(client: Client, lead: Lead) -> None:
    """What `leads.access.access_login` leaves in the session, without going through the magic link."""
    session = client.session
    session[SESSION_LEAD] = lead.pk
    session[SESSION_VERSION] = lead.access_version
    session.save()


def browser_session_cookie(lead: Lead, url: str) -> dict[str, Any]:
    """A session cookie for Playwright, signed in as `lead`."""
    from django.conf import settings

    store = SessionStore()
    store[SESSION_LEAD] = lead.pk
    store[SESSION_VERSION] = lead.access_version
    store.save()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": url}

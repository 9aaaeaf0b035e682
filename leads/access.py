"""Passwordless buyer sessions: who is signed in, and whether they still may be.

A session stores the lead id and the lead's `access_version` at sign-in. Refunds and disputes bump the
version (`lead_revoke_access`), which ends every session of that buyer without a session-table scan.
"""

from django.http import HttpRequest
from django.utils import timezone

from leads.models import Lead

SESSION_LEAD = "access_lead_id"
SESSION_VERSION = "access_version"


def access_login(request: HttpRequest, *, lead: Lead) -> None:
    """Sign a buyer in, rotating the session key (no session fixation)."""
    request.session.cycle_key()
    request.session[SESSION_LEAD] = lead.pk
    request.session[SESSION_VERSION] = lead.access_version
    Lead.objects.filter(pk=lead.pk).update(last_sign_in_at=timezone.now())


def access_logout(request: HttpRequest) -> None:
    request.session.pop(SESSION_LEAD, None)
    request.session.pop(SESSION_VERSION, None)
    request.session.cycle_key()


def access_signed_in_lead(request: HttpRequest) -> Lead | None:
    """The lead signed in in this browser, whatever their buyer status (None if no valid session)."""
    lead_id = request.session.get(SESSION_LEAD)
    if lead_id is None:
        return None
    lead = Lead.objects.filter(pk=lead_id).exclude(status=Lead.Status.ERASED).first()
    if lead is None or request.session.get(SESSION_VERSION) != lead.access_version:
        return None
    return lead


def access_current_buyer(request: HttpRequest) -> Lead | None:
    """The signed-in lead if they are a buyer now (refunded or disputed buyers are not)."""
    lead = access_signed_in_lead(request)
    return lead if lead is not None and lead.is_customer else None

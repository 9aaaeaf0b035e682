"""Single-use links for the two requests that must reach only the mailbox owner: download my data, erase me.

The preferences link is in every email and lives 180 days, so anyone an email is forwarded to holds it: it may
pause, stop and unsubscribe (which only ever reduce mail), but a download or an erasure asks for one of these,
mailed at that moment. Like Django's password-reset tokens (see leads/tokens.py state tokens), each is an HMAC
over state that changes once it is used, plus a timestamp:
- the action (a download link cannot erase), the lead's status (an erasure ends every link), the address, and
  `privacy_link_used_at`, which using any of these links moves, so that link and every earlier one stop working;
- PRIVACY_LINK_MAX_AGE is short: it is asked for and used in one sitting.
Link scanners fetch every URL in a mail, so a GET only shows a button; the POST uses the link.
"""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads import tokens
from leads.models import Lead
from leads.selectors import lead_export
from leads.services import lead_erase

EXPORT, ERASE = "export", "erase"
ACTIONS = (EXPORT, ERASE)
PRIVACY_LINK_MAX_AGE = timedelta(hours=1)


def _purpose(action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown privacy action {action!r}")
    return f"privacy-{action}"


def _state(lead: Lead) -> str:
    used = lead.privacy_link_used_at.isoformat() if lead.privacy_link_used_at else "never"
    return f"{lead.status}:{lead.email or ''}:{used}"


def privacy_token_make(lead: Lead, action: str) -> str:
    return tokens.make_state_token(_purpose(action), lead_id=lead.pk, state=_state(lead))


def privacy_token_lead(token: str, action: str, *, for_update: bool = False) -> Lead:
    """The lead this unused, unexpired link is for; BadToken for anything else (erased leads included)."""
    lead_id = tokens.read_state_token_lead_id(token)
    leads = Lead.objects.select_for_update() if for_update else Lead.objects
    lead = leads.filter(pk=lead_id).exclude(status=Lead.Status.ERASED).first()
    if lead is None or not lead.email:
        raise tokens.BadToken("nobody to act for")
    tokens.check_state_token(_purpose(action), token, lead_id=lead.pk, state=_state(lead),
                             max_age_seconds=int(PRIVACY_LINK_MAX_AGE.total_seconds()))
    return lead


def _use(token: str, action: str) -> Lead:
    """Use the link up (BadToken if it is not valid). Two presses at once: the second waits on the row lock, then
    finds the link used. Called inside the action's transaction, so an action that fails leaves it unused."""
    lead = privacy_token_lead(token, action, for_update=True)
    lead.privacy_link_used_at = timezone.now()
    lead.save(update_fields=["privacy_link_used_at"])
    return lead


@transaction.atomic
def privacy_link_export(*, token: str) -> dict[str, Any]:
    """The data download this link opens, once."""
    return lead_export(lead=_use(token, EXPORT))


@transaction.atomic
def privacy_link_erase(*, token: str, ip_address: str | None, user_agent: str) -> None:
    """The erasure this link opens (the erasure itself ends the link)."""
    lead_erase(lead=_use(token, ERASE), ip_address=ip_address, user_agent=user_agent)

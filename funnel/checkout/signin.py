"""Magic sign-in links for buyers: single use and expiring, without storing the token.

The token is an HMAC over the lead's `last_sign_in_at` and `access_version` (leads.tokens state tokens):
signing in updates `last_sign_in_at`, so every link issued before stops working; a refund or dispute bumps
`access_version`, which kills outstanding links as well as sessions.
"""

from django.conf import settings
from django.urls import reverse

from leads import tokens
from leads.models import Lead

SIGNIN_TOKEN_MAX_AGE_SECONDS = 24 * 3600


def _state(lead: Lead) -> str:
    last = lead.last_sign_in_at.isoformat() if lead.last_sign_in_at else "never"
    return f"{last}:{lead.access_version}"


def signin_token(lead: Lead) -> str:
    return tokens.make_state_token("signin", lead_id=lead.pk, state=_state(lead))


def signin_url(lead: Lead) -> str:
    return settings.SITE_URL + reverse("signin-magic", args=[signin_token(lead)])


def signin_token_buyer(token: str) -> Lead | None:
    """The buyer this unused, unexpired link signs in; None for anything else (and for ex-buyers)."""
    try:
        lead_id = tokens.read_state_token_lead_id(token)
        lead = Lead.objects.filter(pk=lead_id, is_customer=True).exclude(status=Lead.Status.ERASED).first()
        if lead is None:
            return None
        tokens.check_state_token("signin", token, lead_id=lead.pk, state=_state(lead),
                                 max_age_seconds=SIGNIN_TOKEN_MAX_AGE_SECONDS)
    except tokens.BadToken:
        return None
    return lead

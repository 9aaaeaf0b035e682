"""Magic sign-in links for buyers: single use and expiring, without storing the token.

The token is an HMAC (leads.tokens state tokens) over when this buyer last used a sign-in link and their
`access_version`: using a link moves the first, so that link and every earlier one stop working; a refund or
dispute bumps the second, which kills outstanding links as well as sessions. Signing in on the success page
does not touch either, so the link in the access email (often rendered seconds before) keeps working.
"""

import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from emails.services import email_queue_for_each
from funnel.models import SignInLinkUse
from leads import tokens
from leads.access import access_login
from leads.models import Lead
from leads.ratelimit import rate_limit_hit
from leads.validation import normalised_email

SIGNIN_TOKEN_MAX_AGE_SECONDS = 24 * 3600


def _state(lead: Lead) -> str:
    used = SignInLinkUse.objects.filter(lead=lead).values_list("used_at", flat=True).first()
    return f"{used.isoformat() if used else 'never'}:{lead.access_version}"


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


@transaction.atomic
def signin_link_use(request: HttpRequest, *, token: str) -> Lead | None:
    """Sign this browser in with the link, using it up. None (and no sign-in) when it is not valid."""
    try:
        lead_id = tokens.read_state_token_lead_id(token)
    except tokens.BadToken:
        return None
    # Two presses of one link at once: the second waits here, then finds the link used.
    Lead.objects.select_for_update().filter(pk=lead_id).first()
    lead = signin_token_buyer(token)
    if lead is None:
        return None
    SignInLinkUse.objects.update_or_create(lead=lead, defaults={"used_at": timezone.now()})
    access_login(request, lead=lead)
    return lead


def signin_hint_read(token: str) -> str:
    """The address a buyer's email signed into its sign-in link (emails/links.py), to prefill the form; ""
    for no or a bad token. It only prefills: the form still just mails a link to that address."""
    if not token:
        return ""
    try:
        lead_id = tokens.unsign("signin-hint", token).get("lead")
    except tokens.BadToken:
        return ""
    lead = Lead.objects.filter(pk=lead_id).exclude(status=Lead.Status.ERASED).first() \
        if isinstance(lead_id, int) else None
    return (lead.email or "") if lead is not None else ""


def signin_mail_to_buyer(*, email: str, step: str) -> None:
    """Queue a sign-in link for `email` if it is a buyer's, under the per-address sign-in limit.

    One statement whether or not the address is a buyer's (the database decides, the caller does not branch):
    a buyer's answer costs the same work as a stranger's, so its timing tells nobody who bought. Over the
    per-address limit: silently nothing, so the limit cannot be used to probe addresses either.
    """
    email = normalised_email(email)
    email_scope = "signin-email:" + hashlib.sha256(email.encode()).hexdigest()
    if not rate_limit_hit(scope=email_scope, ip=None, rate=settings.SIGNIN_RATE_LIMIT_PER_EMAIL):
        email_queue_for_each(leads=Lead.objects.filter(email=email, is_customer=True)
                             .exclude(status=Lead.Status.ERASED), step=step, key=uuid.uuid4().hex)

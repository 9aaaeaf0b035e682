"""Starting a checkout: the signed upgrade link in every reminder, what we ask Stripe for, and the session row."""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.urls import reverse

from emails.models import ScheduledEmail
from funnel.checkout import simulator
from funnel.checkout.stripe_client import simulator_enabled, stripe_client, stripe_is_configured
from funnel.models import CheckoutSession
from leads import tokens
from leads.models import Lead

UPGRADE_TOKEN_MAX_AGE_SECONDS = 60 * 86400  # the drip runs a week; links keep working for a good while after


# --- Upgrade links -------------------------------------------------------------------------------------------

def upgrade_token(*, lead_id: int, email_row_id: int | None) -> str:
    return tokens.sign("upgrade", {"lead": lead_id, "email": email_row_id})


def upgrade_url(*, lead_id: int, email_row_id: int | None) -> str:
    return settings.SITE_URL + reverse("upgrade", args=[upgrade_token(lead_id=lead_id, email_row_id=email_row_id)])


def upgrade_token_read(token: str) -> tuple[int, int | None]:
    """(lead id, email row id) from an upgrade link; raises tokens.BadToken."""
    payload = tokens.unsign("upgrade", token, max_age_seconds=UPGRADE_TOKEN_MAX_AGE_SECONDS)
    lead_id, row_id = payload.get("lead"), payload.get("email")
    if not isinstance(lead_id, int) or not (row_id is None or isinstance(row_id, int)):
        raise tokens.BadToken("invalid")
    return lead_id, row_id


# --- Starting a checkout -------------------------------------------------------------------------------------

def checkout_idempotency_key(*, lead_id: int | None, email_row_id: int | None, nonce: str) -> str:
    return f"checkout-{lead_id or 'anon'}-{email_row_id or 'none'}-{nonce}"


def checkout_key_used(key: str) -> bool:
    """A recorded session used this key: the next attempt needs a new nonce (Stripe would replay the old one)."""
    return CheckoutSession.objects.filter(idempotency_key=key).exists()


def _line_item() -> dict[str, Any]:
    if settings.STRIPE_PRICE_ID:
        return {"price": settings.STRIPE_PRICE_ID, "quantity": 1}
    return {
        "price_data": {
            "currency": settings.PRODUCT_CURRENCY,
            "unit_amount": settings.PRODUCT_PRICE_CENTS,
            "product_data": {"name": settings.PRODUCT_NAME},
        },
        "quantity": 1,
    }


def checkout_params(*, lead: Lead | None, scheduled_email: ScheduledEmail | None,
                    customer_email: str) -> dict[str, Any]:
    """What we ask Stripe for. The metadata is how the webhook knows whom to grant and which email to credit."""
    metadata: dict[str, str] = {}
    if lead is not None:
        metadata["lead"] = str(lead.pk)
    if scheduled_email is not None:
        metadata["email"] = str(scheduled_email.pk)
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [_line_item()],
        # Stripe substitutes the id; the success page fulfils by it (only for the browser that started it).
        "success_url": settings.SITE_URL + reverse("checkout-success") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": settings.SITE_URL + reverse("checkout-cancel"),
        "allow_promotion_codes": True,
        "metadata": metadata,
        # The same on the payment, so a charge seen in Stripe's dashboard names the lead too.
        "payment_intent_data": {"metadata": metadata},
    }
    if customer_email:
        params["customer_email"] = customer_email
    if lead is not None:
        params["client_reference_id"] = str(lead.pk)
    return params


def checkout_start(*, lead: Lead | None, scheduled_email: ScheduledEmail | None, idempotency_key: str,
                   customer_email: str = "", lead_verified: bool = False) -> CheckoutSession:
    """Create a Checkout Session at Stripe (or in the simulator) and record it. Raises stripe.StripeError.

    No transaction is held open across the API call; a retry with the same key gets the same session back
    from Stripe, and the row is keyed by the session id, so repeating this is harmless.
    """
    params = checkout_params(lead=lead, scheduled_email=scheduled_email, customer_email=customer_email)
    simulated: dict[str, Any] | None = None
    if stripe_is_configured():
        created = stripe_client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
        session = json.loads(str(created))
    elif simulator_enabled():
        session = simulated = simulator.session_build(params)
    else:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set (the simulator runs only with DEBUG on)")
    try:
        with transaction.atomic():
            row, _ = CheckoutSession.objects.get_or_create(
                stripe_session_id=session["id"],
                defaults={"lead": lead, "scheduled_email": scheduled_email, "idempotency_key": idempotency_key,
                          "url": session.get("url") or "", "lead_verified": lead_verified,
                          "simulated_object": simulated},
            )
    except IntegrityError:  # two concurrent clicks with one key: the other request recorded it first
        row = CheckoutSession.objects.get(stripe_session_id=session["id"])
    return row

"""Stripe's return page for a checkout this browser started: fulfil at once (the webhook may be late) and say
whom, if anyone, the browser may be signed in as."""

import logging
from dataclasses import dataclass

import stripe

from funnel.checkout.fulfilment import FulfilmentError, purchase_fulfil
from funnel.models import CheckoutSession, Purchase
from leads.models import Lead

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutReturn:
    fulfilled: bool  # False while the payment is not complete (or Stripe could not be read): "processing"
    sign_in: Lead | None  # the buyer this browser may be signed in as, else None: access arrives by email


def checkout_return(*, session_id: str) -> CheckoutReturn:
    """Only a paid purchase of a checkout started from an email link (so the address is the reader's own) signs
    the browser in; a purchase held for review, a duplicate, or an address typed on /buy/ does not."""
    try:
        purchase = purchase_fulfil(session_id=session_id)
    except (stripe.StripeError, FulfilmentError) as exc:
        logger.warning("success page could not fulfil %s: %s", session_id, exc)
        return CheckoutReturn(fulfilled=False, sign_in=None)
    if purchase is None:
        return CheckoutReturn(fulfilled=False, sign_in=None)
    verified = CheckoutSession.objects.filter(stripe_session_id=session_id, lead_verified=True).exists()
    if purchase.status != Purchase.Status.PAID or not verified:
        return CheckoutReturn(fulfilled=True, sign_in=None)
    lead = Lead.objects.get(pk=purchase.lead_id)
    return CheckoutReturn(fulfilled=True, sign_in=lead if lead.is_customer else None)

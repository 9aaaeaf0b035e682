"""Purchases held for review (the amount, currency or mode did not match our price): alert staff, and let staff
grant access or refund, each decision recorded with who and when."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from emails.services import email_queue
from emails.staff_alert import staff_alert_send
from funnel import signals
from funnel.checkout.reversals import stripe_refund
from funnel.models import Purchase
from leads.services import lead_make_customer

logger = logging.getLogger(__name__)


def staff_alert_held(purchase: Purchase) -> None:
    """Tell staff a buyer paid and is waiting on them. Best effort: a mail failure must not fail the webhook
    event (the purchase is recorded; the admin's list filter shows it either way)."""
    staff_alert_send(
        subject=f"Purchase held for review: {purchase.amount_cents / 100:.2f} {purchase.currency.upper()}",
        body=(f"A buyer paid and has no access yet. Stripe session {purchase.stripe_session_id}, "
              f"payment {purchase.payment_intent_id or '-'}.\nWhy: {purchase.review_reason}\n\n"
              "Grant access or refund it from the Purchases page of the admin."),
        about=f"purchase {purchase.pk} held for review")


def _decide(purchase_id: int, *, user: AbstractBaseUser, outcome: str, **fields: object) -> Purchase | None:
    """Record a decision on a purchase still held; None when someone else decided first."""
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().filter(pk=purchase_id, status=Purchase.Status.REVIEW).first()
        if purchase is None:
            return None
        for name, value in fields.items():
            setattr(purchase, name, value)
        purchase.reviewed_by_id = user.pk
        purchase.reviewed_at = timezone.now()
        purchase.review_outcome = outcome
        purchase.save()
        return purchase


def purchase_grant(*, purchase_id: int, user: AbstractBaseUser) -> bool:
    """Staff accept a held purchase: the buyer gets access and the access email, as for any sale."""
    with transaction.atomic():
        purchase = _decide(purchase_id, user=user, outcome="granted", status=Purchase.Status.PAID)
        if purchase is None:
            return False
        lead_make_customer(lead=purchase.lead)
        email_queue(lead=purchase.lead, step="access", key=purchase.stripe_session_id,
                    context={"purchase_id": purchase.pk})
        signals.purchase_paid.send(sender=Purchase, purchase=purchase)
    return True


def purchase_refund_held(*, purchase_id: int, user: AbstractBaseUser) -> bool:
    """Staff refund a held purchase through Stripe (outside any transaction), then record who did it."""
    purchase = Purchase.objects.filter(pk=purchase_id, status=Purchase.Status.REVIEW).first()
    if purchase is None:
        return False
    refund_id = stripe_refund(purchase, reason="requested_by_customer")
    return _decide(purchase_id, user=user, outcome="refunded", status=Purchase.Status.REFUNDED,
                   refund_id=refund_id, refunded_at=timezone.now()) is not None

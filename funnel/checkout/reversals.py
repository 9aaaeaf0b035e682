"""Refunds and disputes: mark the purchase and end the buyer's access, in whichever order the events arrive;
and our own refunds through Stripe (a second payment by a buyer, or staff refunding a held purchase)."""

import logging
import secrets
from typing import Literal

import stripe
from django.db import connection, transaction
from django.utils import timezone

from emails.services import email_queue
from funnel import signals
from funnel.checkout.stripe_client import stripe_client, stripe_is_configured, stripe_key_reusable
from funnel.models import PaymentReversal, Purchase
from leads.services import lead_revoke_access

logger = logging.getLogger(__name__)


def stripe_refund(purchase: Purchase, *, reason: Literal["duplicate", "requested_by_customer"]) -> str:
    """Refund the purchase's payment in full through Stripe; returns the refund id ("" when nothing was charged).

    A retry, a second worker or a second press never refunds twice: they share the purchase's Idempotency-Key
    while an attempt's outcome is unknown (Stripe then replays its answer), and Stripe refuses to refund a
    refunded payment again. Calls Stripe: the caller must hold no transaction.
    """
    intent = purchase.payment_intent_id
    if not intent or not stripe_is_configured():
        return ""  # a 100 % promotion code (nothing charged), or the dev simulator (nothing to call)
    key = _refund_idempotency_key(purchase)
    try:
        refund = stripe_client().v1.refunds.create(
            params={"payment_intent": intent, "reason": reason, "metadata": {"purchase": str(purchase.pk)}},
            options={"idempotency_key": key},
        )
    except stripe.StripeError as exc:
        if not stripe_key_reusable(exc):
            # Stripe answered: a 500 it stored under the key would be replayed to every retry for 24 h.
            Purchase.objects.filter(pk=purchase.pk, refund_idempotency_key=key).update(refund_idempotency_key="")
        if exc.code == "charge_already_refunded":
            # An earlier attempt whose answer was an error did refund it after all, or staff did in the dashboard.
            return _refund_of(intent)
        raise
    return str(refund["id"])


def _refund_idempotency_key(purchase: Purchase) -> str:
    """The key of this refund attempt: the one saved on the purchase, else a new one, saved (committed) before
    the call so that a crash or a timeout afterwards leaves it to the retry. The first of two concurrent callers
    to save a key gives it to both."""
    new_key = f"refund:{purchase.payment_intent_id}:{secrets.token_urlsafe(12)}"
    Purchase.objects.filter(pk=purchase.pk, refund_idempotency_key="").update(refund_idempotency_key=new_key)
    return Purchase.objects.values_list("refund_idempotency_key", flat=True).get(pk=purchase.pk)


def _refund_of(payment_intent_id: str) -> str:
    """The id of the latest refund of a payment Stripe says is refunded already."""
    refunds = stripe_client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 1})
    return str(refunds.data[0]["id"]) if refunds.data else ""


def purchase_refund_duplicate(purchase: Purchase) -> None:
    """Give a buyer's second payment back, record it, and tell them (once, whatever the retries)."""
    refund_id = stripe_refund(purchase, reason="duplicate")
    with transaction.atomic():
        updated = Purchase.objects.filter(pk=purchase.pk, refunded_at__isnull=True).update(
            refund_id=refund_id, refunded_at=timezone.now())
        if updated:
            email_queue(lead=purchase.lead, step="duplicate-refunded", key=purchase.stripe_session_id,
                        context={"purchase_id": purchase.pk})
    purchase.refresh_from_db()
    logger.info("second payment %s of lead %s refunded (%s)", purchase.stripe_session_id, purchase.lead_id,
                refund_id or "nothing charged")


def payment_lock(key: str) -> None:
    """Serialise fulfilment and reversal of one payment until the transaction ends.

    Without it a refund and a completion processed at the same instant could each miss the other's
    uncommitted row. SQLite already runs one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"payment:{key}"])


def purchase_mark_reversed(purchase: Purchase, *, kind: str) -> None:
    now = timezone.now()
    if kind == PaymentReversal.Kind.DISPUTE:
        purchase.status, purchase.disputed_at = Purchase.Status.DISPUTED, now
        purchase.save(update_fields=["status", "disputed_at"])
    else:
        purchase.status, purchase.refunded_at = Purchase.Status.REFUNDED, now
        purchase.save(update_fields=["status", "refunded_at"])


@transaction.atomic
def purchase_reverse(*, payment_intent_id: str, kind: str, stripe_object_id: str) -> int:
    """A refund or dispute of a payment: mark its purchase and end the buyer's access everywhere.

    Recorded even when no purchase exists yet (out-of-order delivery). Returns purchases changed.
    """
    payment_lock(payment_intent_id)
    PaymentReversal.objects.get_or_create(
        kind=kind, stripe_object_id=stripe_object_id, defaults={"payment_intent_id": payment_intent_id}
    )
    changed = 0
    # A second payment we refunded ourselves stays what it is: never a sale, so not a refunded sale either.
    for purchase in Purchase.objects.select_for_update().filter(payment_intent_id=payment_intent_id) \
            .exclude(status=Purchase.Status.DUPLICATE):
        was_paid = purchase.status == Purchase.Status.PAID
        purchase_mark_reversed(purchase, kind=kind)
        if was_paid and kind == PaymentReversal.Kind.REFUND:
            signals.purchase_refunded.send(sender=Purchase, purchase=purchase)
        changed += 1
        still_paid = Purchase.objects.filter(lead_id=purchase.lead_id, status=Purchase.Status.PAID).exists()
        if not still_paid:
            lead_revoke_access(lead=purchase.lead)
    return changed

"""Refunds and disputes: mark the purchase and end the buyer's access, in whichever order the events arrive."""

from django.db import connection, transaction
from django.utils import timezone

from funnel.models import PaymentReversal, Purchase
from leads.services import lead_revoke_access


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
    for purchase in Purchase.objects.select_for_update().filter(payment_intent_id=payment_intent_id):
        purchase_mark_reversed(purchase, kind=kind)
        changed += 1
        still_paid = Purchase.objects.filter(lead_id=purchase.lead_id, status=Purchase.Status.PAID).exists()
        if not still_paid:
            lead_revoke_access(lead=purchase.lead)
    return changed

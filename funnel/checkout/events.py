"""Stored Stripe events: record once, then process by claim, outside any transaction while Stripe is called.

The webhook records and answers; a Celery task processes the event by id, and the beat sweep takes up whatever
no task did (broker down, worker killed mid-way, a failure waiting for its retry). Processing is a claim, not a
lock held open: one short UPDATE moves the event to `processing` with a lease (`retry_at`), the handler then
calls Stripe with no transaction open and writes in short transactions of its own, and a last UPDATE records
the outcome. Two workers never process one event at once; a worker that died leaves a lease that runs out.
Handlers are idempotent (a purchase is unique per session, reversals per Stripe object), so an event processed
again after a lost lease changes nothing.
"""

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from emails.backoff import exponential_backoff_seconds
from emails.models import ScheduledEmail
from emails.services import email_queue
from funnel.checkout.fulfilment import FulfilmentError, purchase_fulfil, session_email_row, session_lead
from funnel.checkout.reversals import purchase_reverse
from funnel.checkout.stripe_client import stripe_client, stripe_is_configured
from funnel.models import CheckoutSession, PaymentReversal, StripeEvent
from leads.db import insert_unless_conflict
from leads.models import Lead

logger = logging.getLogger(__name__)

# Longer than the worst Stripe call of one event: the client's 20 s timeout, tried 3 times, with its backoff.
LEASE_SECONDS = 300
# A received event younger than this most likely has its task in the queue; the sweep leaves it to the task.
SWEEP_GRACE_SECONDS = 30
SWEEP_BATCH = 200
# Failures are retried by the sweep after 1, 2, 4 … minutes (at most an hour apart), this many attempts in all
# (about seven hours); after that only the admin's "reprocess" or `stripe_reconcile` tries again.
MAX_AUTOMATIC_ATTEMPTS = 12
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 3600


# --- Event handlers, one per type we act on ------------------------------------------------------------------
# Each runs with no transaction open: Stripe first, then its writes in one short transaction.

def _on_session_completed(session: dict[str, Any]) -> None:
    # Delayed methods (bank debits) complete unpaid; access waits for async_payment_succeeded.
    if session.get("payment_status") in ("paid", "no_payment_required"):
        purchase_fulfil(session_id=session["id"])


def _on_async_payment_succeeded(session: dict[str, Any]) -> None:
    purchase_fulfil(session_id=session["id"])


@transaction.atomic
def _on_async_payment_failed(session: dict[str, Any]) -> None:
    CheckoutSession.objects.filter(stripe_session_id=session["id"]).update(
        status=CheckoutSession.Status.ASYNC_FAILED
    )
    lead = session_lead(session, create=False)
    if lead is None or lead.is_customer:
        return
    row = session_email_row(session, lead)
    # The lead stays in the drip as before; this mail only says what happened and offers a fresh link.
    email_queue(lead=lead, step="payment-failed", key=session["id"],
                context={"credited_email_id": row.pk if row else None})


@transaction.atomic
def _on_session_expired(session: dict[str, Any]) -> None:
    CheckoutSession.objects.filter(stripe_session_id=session["id"]).update(status=CheckoutSession.Status.EXPIRED)
    # Marketing mail, so only to the lead our own upgrade link named (an address typed on /buy/ proves nothing)
    # and only while they want our mail; the marketing stream's UNIQUE(lead, step) makes it once per lead
    # however many sessions expire. A reader who stopped the reminders gets no sales nudge either.
    lead_id = str((session.get("metadata") or {}).get("lead") or "")
    lead = Lead.objects.filter(pk=int(lead_id)).first() if lead_id.isdigit() else None
    if lead is None or lead.is_customer or lead.status != Lead.Status.SUBSCRIBED or lead.suppression \
            or lead.reminders_stopped_at:
        return
    row = session_email_row(session, lead)
    email_queue(lead=lead, step="order-waiting", stream=ScheduledEmail.Stream.MARKETING,
                context={"credited_email_id": row.pk if row else None})


def _on_charge_refunded(charge: dict[str, Any]) -> None:
    intent = charge.get("payment_intent")
    # A partial refund (goodwill on a $9.97 order) keeps access; only a full refund takes it back.
    if intent and charge.get("refunded"):
        purchase_reverse(payment_intent_id=str(intent), kind=PaymentReversal.Kind.REFUND,
                         stripe_object_id=str(charge["id"]))


def _on_dispute_created(dispute: dict[str, Any]) -> None:
    intent = dispute.get("payment_intent")
    if not intent and dispute.get("charge") and stripe_is_configured():
        charge = stripe_client().v1.charges.retrieve(str(dispute["charge"]))
        intent = charge.get("payment_intent")
    if not intent:
        raise FulfilmentError(f"dispute {dispute.get('id')} names no payment")
    purchase_reverse(payment_intent_id=str(intent), kind=PaymentReversal.Kind.DISPUTE,
                     stripe_object_id=str(dispute["id"]))


EVENT_HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "checkout.session.completed": _on_session_completed,
    "checkout.session.async_payment_succeeded": _on_async_payment_succeeded,
    "checkout.session.async_payment_failed": _on_async_payment_failed,
    "checkout.session.expired": _on_session_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
}


# --- Recording -----------------------------------------------------------------------------------------------

def stripe_event_record(*, payload: dict[str, Any], body: str | None = None) -> bool:
    """Store a verified event once, before acting on it. True when this call stored it and it awaits processing
    (a type we act on); False when the event id was already stored, or the type is one we only keep.

    The payload must have passed the webhook's checks (id, type, data.object, an integer `created`). `body` is
    the JSON text it was parsed from, stored as it is: the raw event as Stripe sent it, and no re-encoding of a
    few kilobytes on every delivery.
    """
    event_type = str(payload["type"])[:100]
    created_ts = payload.get("created")
    handled = event_type in EVENT_HANDLERS
    now = timezone.now()
    # One INSERT … ON CONFLICT DO NOTHING (in autocommit, as the webhook runs outside a transaction) instead of
    # BEGIN, INSERT and COMMIT with an IntegrityError for every duplicate delivery: a duplicate writes nothing, so
    # it waits for no WAL flush either. The body is stored as the JSON text it came as.
    inserted = insert_unless_conflict(StripeEvent(
        event_id=str(payload["id"]), event_type=event_type, livemode=bool(payload.get("livemode")),
        stripe_created_at=datetime.fromtimestamp(created_ts, tz=UTC) if isinstance(created_ts, int) else None,
        # A type we do not act on is finished when stored: no task, nothing for the sweep.
        status=StripeEvent.Status.RECEIVED if handled else StripeEvent.Status.IGNORED,
        processed_at=None if handled else now, received_at=now, error="", attempts=0, retry_at=None,
    ), json_text={"payload": body if body is not None else json.dumps(payload)})
    return inserted and handled


# --- Processing ----------------------------------------------------------------------------------------------

def _claimable(now: datetime) -> Q:
    """New or failed (whatever its backoff: a task or the admin asks for this event by name), or claimed by a
    worker whose lease ran out."""
    return Q(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED]) \
        | Q(status=StripeEvent.Status.PROCESSING, retry_at__lte=now)


def _due(now: datetime) -> Q:
    """What the sweep takes up: received a while ago yet untouched, a lease that ran out, a failure whose
    backoff is over (within the automatic attempts)."""
    return Q(status=StripeEvent.Status.RECEIVED, received_at__lte=now - timedelta(seconds=SWEEP_GRACE_SECONDS)) \
        | Q(status=StripeEvent.Status.PROCESSING, retry_at__lte=now) \
        | (Q(status=StripeEvent.Status.FAILED, attempts__lt=MAX_AUTOMATIC_ATTEMPTS)
           & (Q(retry_at__lte=now) | Q(retry_at__isnull=True)))


def _claim(event_id: str, condition: Q) -> StripeEvent | None:
    """Take the event for this worker in one UPDATE (autocommit: no transaction stays open). Concurrent claims
    of one event queue on its row lock and re-check the condition, so exactly one wins."""
    now = timezone.now()
    won = StripeEvent.objects.filter(condition, event_id=event_id).update(
        status=StripeEvent.Status.PROCESSING, attempts=F("attempts") + 1,
        retry_at=now + timedelta(seconds=LEASE_SECONDS))
    if not won:
        return None
    return StripeEvent.objects.get(event_id=event_id)


def _finish(event: StripeEvent, **outcome: Any) -> None:
    """Record the outcome, unless our lease ran out and another worker claimed the event since (its attempt
    count moved on): then that worker's outcome is the one that stands."""
    recorded = StripeEvent.objects.filter(
        pk=event.pk, status=StripeEvent.Status.PROCESSING, attempts=event.attempts).update(**outcome)
    if not recorded:
        logger.warning("stripe event %s: lease lost before the outcome was recorded", event.event_id)


def _process(event: StripeEvent) -> str:
    handler = EVENT_HANDLERS.get(event.event_type)
    now = timezone.now()
    if handler is None:  # stored before we acted on this type, or a handler since removed
        _finish(event, status=StripeEvent.Status.IGNORED, error="", processed_at=now, retry_at=None)
        return StripeEvent.Status.IGNORED
    try:
        handler(dict(event.payload["data"]["object"]))
    except Exception:
        # Kept with its traceback; the sweep retries it after a backoff, and the admin can reprocess it.
        logger.exception("stripe event %s (%s) failed", event.event_id, event.event_type)
        retry_after = exponential_backoff_seconds(attempts=event.attempts, first_seconds=RETRY_BASE_SECONDS,
                                                  most_seconds=RETRY_MAX_SECONDS)
        _finish(event, status=StripeEvent.Status.FAILED, error=traceback.format_exc()[-20000:],
                retry_at=timezone.now() + timedelta(seconds=retry_after))
        return StripeEvent.Status.FAILED
    _finish(event, status=StripeEvent.Status.PROCESSED, error="", processed_at=timezone.now(), retry_at=None)
    return StripeEvent.Status.PROCESSED


def stripe_event_process(*, event_id: str) -> str | None:
    """Act on a stored event that is new or failed: the webhook's task and the admin's "reprocess" call this.

    Returns the event's new status, or None when there was nothing to do (already processed or ignored, or
    being processed right now by another worker). Must be called with no transaction open: the handler calls
    Stripe, and nothing may wait on Stripe holding a transaction or a row lock.
    """
    event = _claim(event_id, _claimable(timezone.now()))
    return _process(event) if event is not None else None


def stripe_events_sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Process stored events no task took up (beat runs this). Returns how many ended in each status.

    Several sweeps may run at once (beat on one machine, workers on many): each event is claimed on its own,
    so an event goes to exactly one of them.
    """
    now = timezone.now()
    due = list(StripeEvent.objects.filter(_due(now)).order_by("received_at")
               .values_list("event_id", flat=True)[:limit])
    outcomes: dict[str, int] = {}
    for event_id in due:
        event = _claim(event_id, _due(timezone.now()))
        if event is not None:
            status = _process(event)
            outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes

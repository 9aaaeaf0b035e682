"""Money writes: start a checkout, fulfil a paid session (once), reverse a refunded or disputed payment, and
record/process Stripe events.

Fulfilment is one idempotent function used by the webhook, the success page and `stripe_reconcile` (Stripe's
own advice): whichever arrives first grants, the others find the purchase and do nothing.
"""

import json
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.services import email_queue
from funnel.checkout import simulator
from funnel.checkout.stripe_client import simulator_enabled, stripe_client, stripe_is_configured, stripe_live_mode
from funnel.models import CheckoutSession, PaymentReversal, Purchase, StripeEvent
from leads import tokens
from leads.db import insert_unless_conflict
from leads.models import Lead
from leads.services import lead_make_customer, lead_revoke_access

logger = logging.getLogger(__name__)

UPGRADE_TOKEN_MAX_AGE_SECONDS = 60 * 86400  # the drip runs a week; links keep working for a good while after


class FulfilmentError(Exception):
    """The session cannot be turned into a purchase (e.g. no email at all); the event is kept as failed."""


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


# --- Reading a session back ----------------------------------------------------------------------------------

def checkout_session_retrieve(session_id: str) -> dict[str, Any]:
    """Stripe's current copy of the session (never trust a payload or a URL for what was paid)."""
    if stripe_is_configured():
        return json.loads(str(stripe_client().v1.checkout.sessions.retrieve(session_id)))
    row = CheckoutSession.objects.filter(stripe_session_id=session_id, simulated_object__isnull=False).first()
    if row is None or not simulator_enabled():
        raise FulfilmentError(f"unknown session {session_id}")
    return dict(row.simulated_object or {})


def _session_is_paid(session: dict[str, Any]) -> bool:
    if session.get("status") != "complete":
        return False
    if session.get("payment_status") == "paid":
        return True
    # A 100 % promotion code: nothing to charge, yet a real order of our product.
    return session.get("payment_status") == "no_payment_required" and session.get("amount_total") == 0


def _price_problems(session: dict[str, Any]) -> list[str]:
    """Why this session is not a purchase of our product at our price (empty when it is)."""
    problems = []
    if session.get("mode") != "payment":
        problems.append(f"mode {session.get('mode')!r}")
    if session.get("currency") != settings.PRODUCT_CURRENCY:
        problems.append(f"currency {session.get('currency')!r} is not {settings.PRODUCT_CURRENCY!r}")
    subtotal = session.get("amount_subtotal")
    if subtotal != settings.PRODUCT_PRICE_CENTS:
        problems.append(f"amount_subtotal {subtotal!r} is not {settings.PRODUCT_PRICE_CENTS}")
    totals = session.get("total_details") or {}
    expected_total = (subtotal or 0) - (totals.get("amount_discount") or 0) + (totals.get("amount_tax") or 0) \
        + (totals.get("amount_shipping") or 0)
    if session.get("amount_total") != expected_total:
        problems.append(f"amount_total {session.get('amount_total')!r} is not {expected_total}")
    if bool(session.get("livemode")) != stripe_live_mode():
        problems.append(f"livemode {session.get('livemode')!r} does not match our key")
    return problems


def _session_email(session: dict[str, Any]) -> str:
    details = session.get("customer_details") or {}
    return (details.get("email") or session.get("customer_email") or "").strip().lower()


def _buyer_lead_for_email(email: str) -> Lead:
    """The lead with this address, or a new one for a buyer who never signed up.

    A new buyer gave no marketing consent: the lead is created `unsubscribed` with reminders stopped, so no
    drip, confirmation reminder or "order waiting" mail ever reaches them; purchase mail is transactional and
    still goes out. No consent record is written (there was no consent).
    """
    existing = Lead.objects.filter(email__iexact=email).first()
    if existing is not None:
        return existing
    lead, _ = Lead.objects.get_or_create(
        email=email,
        defaults={"status": Lead.Status.UNSUBSCRIBED, "reminders_stopped_at": timezone.now()},
    )
    return lead


def _session_lead(session: dict[str, Any], *, create: bool) -> Lead | None:
    # Only our server-set metadata names a lead: a client_reference_id can come from a Payment Link's URL.
    lead_id = str((session.get("metadata") or {}).get("lead") or "")
    if lead_id.isdigit():
        lead = Lead.objects.filter(pk=int(lead_id)).exclude(status=Lead.Status.ERASED).first()
        if lead is not None:
            return lead
    email = _session_email(session)
    if not email:
        return None
    if create:
        return _buyer_lead_for_email(email)
    return Lead.objects.filter(email__iexact=email).first()


def _session_email_row(session: dict[str, Any], lead: Lead) -> ScheduledEmail | None:
    row_id = str((session.get("metadata") or {}).get("email") or "")
    if not row_id.isdigit():
        return None
    return ScheduledEmail.objects.filter(pk=int(row_id), lead=lead).first()


def _payment_intent_id(session: dict[str, Any]) -> str:
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        return str(intent.get("id") or "")
    return str(intent or "")


def _lock_payment(key: str) -> None:
    """Serialise fulfilment and reversal of one payment until the transaction ends.

    Without it a refund and a completion processed at the same instant could each miss the other's
    uncommitted row. SQLite already runs one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"payment:{key}"])


def purchase_fulfil(*, session_id: str) -> Purchase | None:
    """Grant the purchase of a paid session, once. None while the session is not paid (yet).

    Safe to call any number of times, concurrently: the purchase is unique per session, and access is granted
    and the access email queued only by the call that created it.
    """
    session = checkout_session_retrieve(session_id)
    if session.get("id") != session_id:
        raise FulfilmentError(f"Stripe returned {session.get('id')!r} for {session_id!r}")
    if not _session_is_paid(session):
        return None
    return _purchase_record(session)


@transaction.atomic
def _purchase_record(session: dict[str, Any]) -> Purchase | None:
    session_id = session["id"]
    intent_id = _payment_intent_id(session)
    _lock_payment(intent_id or session_id)
    existing = Purchase.objects.filter(stripe_session_id=session_id).first()
    if existing is not None:
        return existing
    problems = _price_problems(session)
    # A session that is not our product at our price (another product on the same Stripe account, or a
    # tampered one) never creates a lead; for a lead we know, it is recorded and held for review.
    lead = _session_lead(session, create=not problems)
    if lead is None and problems:
        logger.error("paid session %s is not our product and names no lead we know: %s", session_id,
                     "; ".join(problems))
        return None
    if lead is None:
        raise FulfilmentError(f"session {session_id} names no lead and no email")
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                stripe_session_id=session_id, lead=lead, scheduled_email=_session_email_row(session, lead),
                amount_cents=max(int(session.get("amount_total") or 0), 0),
                currency=str(session.get("currency") or "")[:3], livemode=bool(session.get("livemode")),
                payment_intent_id=intent_id,
            )
    except IntegrityError:
        # Another fulfilment of the same session committed first (no payment intent to lock on): it granted.
        return Purchase.objects.get(stripe_session_id=session_id)
    CheckoutSession.objects.filter(stripe_session_id=session_id).update(status=CheckoutSession.Status.COMPLETE)

    reversal = PaymentReversal.objects.filter(payment_intent_id=intent_id).order_by("-created_at").first() \
        if intent_id else None
    if reversal is not None:
        # The refund or dispute arrived before the completion: record the sale as reversed, grant nothing.
        _purchase_mark_reversed(purchase, kind=reversal.kind)
        return purchase
    if problems:
        purchase.status = Purchase.Status.REVIEW
        purchase.review_reason = "; ".join(problems)[:255]
        purchase.save(update_fields=["status", "review_reason"])
        logger.error("purchase %s held for review: %s", purchase.pk, purchase.review_reason)
        return purchase
    lead_make_customer(lead=lead)
    email_queue(lead=lead, step="access", key=session_id, context={"purchase_id": purchase.pk})
    return purchase


# --- Refunds and disputes ------------------------------------------------------------------------------------

def _purchase_mark_reversed(purchase: Purchase, *, kind: str) -> None:
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
    _lock_payment(payment_intent_id)
    PaymentReversal.objects.get_or_create(
        kind=kind, stripe_object_id=stripe_object_id, defaults={"payment_intent_id": payment_intent_id}
    )
    changed = 0
    for purchase in Purchase.objects.select_for_update().filter(payment_intent_id=payment_intent_id):
        _purchase_mark_reversed(purchase, kind=kind)
        changed += 1
        still_paid = Purchase.objects.filter(lead_id=purchase.lead_id, status=Purchase.Status.PAID).exists()
        if not still_paid:
            lead_revoke_access(lead=purchase.lead)
    return changed


# --- Event handlers, one per type we act on ------------------------------------------------------------------

def _on_session_completed(session: dict[str, Any]) -> None:
    # Delayed methods (bank debits) complete unpaid; access waits for async_payment_succeeded.
    if session.get("payment_status") in ("paid", "no_payment_required"):
        purchase_fulfil(session_id=session["id"])


def _on_async_payment_succeeded(session: dict[str, Any]) -> None:
    purchase_fulfil(session_id=session["id"])


def _on_async_payment_failed(session: dict[str, Any]) -> None:
    CheckoutSession.objects.filter(stripe_session_id=session["id"]).update(
        status=CheckoutSession.Status.ASYNC_FAILED
    )
    lead = _session_lead(session, create=False)
    if lead is None or lead.is_customer:
        return
    row = _session_email_row(session, lead)
    # The lead stays in the drip as before; this mail only says what happened and offers a fresh link.
    email_queue(lead=lead, step="payment-failed", key=session["id"],
                context={"credited_email_id": row.pk if row else None})


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
    row = _session_email_row(session, lead)
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


# --- Stored events -------------------------------------------------------------------------------------------

def stripe_event_record(*, payload: dict[str, Any]) -> bool:
    """Store a verified event once, before acting on it. False when this event id was already stored."""
    created_ts = payload.get("created")
    # One INSERT … ON CONFLICT DO NOTHING (in autocommit, as the webhook runs outside a transaction) instead of
    # BEGIN, INSERT and COMMIT with an IntegrityError for every duplicate delivery.
    return insert_unless_conflict(StripeEvent(
        event_id=str(payload["id"]), event_type=str(payload.get("type") or "")[:100],
        livemode=bool(payload.get("livemode")), payload=payload,
        stripe_created_at=datetime.fromtimestamp(created_ts, tz=UTC) if isinstance(created_ts, int) else None,
    ))


def stripe_event_process(*, event_id: str) -> str | None:
    """Act on a stored event that is new or failed; the admin's "reprocess" calls this too.

    Returns the event's new status, or None when there was nothing to do (already processed, or being
    processed right now by a concurrent delivery of the same event, whose row lock we skip).
    """
    with transaction.atomic():
        event = (StripeEvent.objects.select_for_update(skip_locked=True)
                 .filter(event_id=event_id, status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED])
                 .first())
        if event is None:
            return None
        event.attempts += 1
        handler = EVENT_HANDLERS.get(event.event_type)
        if handler is None:
            event.status = StripeEvent.Status.IGNORED
        else:
            try:
                with transaction.atomic():
                    handler(dict(event.payload["data"]["object"]))
            except Exception:
                # Kept with its traceback: Stripe retries on our 500, and the admin can reprocess it.
                logger.exception("stripe event %s (%s) failed", event.event_id, event.event_type)
                event.status, event.error = StripeEvent.Status.FAILED, traceback.format_exc()[-20000:]
                event.save(update_fields=["status", "error", "attempts"])
                return event.status
            event.status, event.error = StripeEvent.Status.PROCESSED, ""
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "attempts", "processed_at"])
        return event.status

"""Fulfilment: read a session back from Stripe, check it is a paid purchase of our product, and grant it once.

One idempotent function used by the webhook's task, the success page and `stripe_reconcile` (Stripe's own
advice): whichever arrives first grants, the others find the purchase and do nothing. Stripe is called before
any transaction opens; only the recording is a (short) transaction.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from emails.models import ScheduledEmail
from emails.services import email_queue
from funnel import signals
from funnel.checkout.reversals import payment_lock, purchase_mark_reversed, purchase_refund_duplicate
from funnel.checkout.review import staff_alert_held
from funnel.checkout.stripe_client import simulator_enabled, stripe_client, stripe_is_configured, stripe_live_mode
from funnel.models import CheckoutSession, PaymentReversal, Purchase
from leads.models import Lead
from leads.services import lead_buyer_find_or_create, lead_make_customer
from leads.validation import normalised_email

logger = logging.getLogger(__name__)


class FulfilmentError(Exception):
    """The session cannot be turned into a purchase (e.g. no email at all); the event is kept as failed."""


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


def expected_price() -> tuple[int | None, str]:
    """(amount in cents, currency) our checkout charges: the configured Stripe Price's own, else the inline one.

    The amount is None for a Price without a fixed one (tiered, or the customer chooses it): nothing to check a
    payment against, so every purchase is held for review (see price_amount_problem).

    A Price's amount and currency cannot change once created (Stripe makes a new Price instead), so it is read
    from Stripe once and cached without expiry, per Price id. Calls Stripe: never inside a transaction.
    """
    price_id = settings.STRIPE_PRICE_ID
    if not price_id or not stripe_is_configured():
        return settings.PRODUCT_PRICE_CENTS, settings.PRODUCT_CURRENCY
    key = f"stripe-price:{price_id}"
    cached = cache.get(key)
    if cached is None:
        price = stripe_client().v1.prices.retrieve(price_id)
        unit_amount = price["unit_amount"]
        cached = (None if unit_amount is None else int(unit_amount), str(price["currency"]))
        cache.set(key, cached, timeout=None)
    return cached[0], str(cached[1])


def price_amount_problem(price_id: str) -> str:
    """What is wrong with a configured Price that has no fixed amount, for staff and the deploy check."""
    return (f"STRIPE_PRICE_ID {price_id} has no fixed unit_amount (a tiered or customer-chooses-price Price), "
            "so no payment can be checked against it: set STRIPE_PRICE_ID to a one-time Price with a fixed amount")


def _price_problems(session: dict[str, Any], expected: tuple[int | None, str]) -> list[str]:
    """Why this session is not a purchase of our product at our price (empty when it is)."""
    problems = []
    amount, currency = expected
    if amount is None:
        problems.append(price_amount_problem(settings.STRIPE_PRICE_ID))
    if session.get("mode") != "payment":
        problems.append(f"mode {session.get('mode')!r}")
    if session.get("currency") != currency:
        problems.append(f"currency {session.get('currency')!r} is not {currency!r}")
    subtotal = session.get("amount_subtotal")
    if amount is not None and subtotal != amount:
        problems.append(f"amount_subtotal {subtotal!r} is not {amount}")
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
    return normalised_email(details.get("email") or session.get("customer_email") or "")


def session_lead(session: dict[str, Any], *, create: bool) -> Lead | None:
    """The lead a session is for: the one our metadata names, else the buyer's address (created if asked, by
    lead_buyer_find_or_create: a buyer who never signed up gets an unsubscribed lead)."""
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
        return lead_buyer_find_or_create(email=email)
    return Lead.objects.filter(email=email).first()


def session_email_row(session: dict[str, Any], lead: Lead) -> ScheduledEmail | None:
    """The email whose signed link started this session (credited with the sale), if it is this lead's."""
    row_id = str((session.get("metadata") or {}).get("email") or "")
    if not row_id.isdigit():
        return None
    return ScheduledEmail.objects.filter(pk=int(row_id), lead=lead).first()


def _payment_intent_id(session: dict[str, Any]) -> str:
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        return str(intent.get("id") or "")
    return str(intent or "")


def purchase_fulfil(*, session_id: str) -> Purchase | None:
    """Grant the purchase of a paid session, once. None while the session is not paid (yet).

    Safe to call any number of times, concurrently: the purchase is unique per session, and access is granted
    and the access email queued only by the call that created it. Reads Stripe first, outside any transaction
    of ours (the caller must not hold one either), then records in one short transaction.
    """
    session = checkout_session_retrieve(session_id)
    if session.get("id") != session_id:
        raise FulfilmentError(f"Stripe returned {session.get('id')!r} for {session_id!r}")
    if not _session_is_paid(session):
        return None
    purchase, created = _purchase_record(session, expected_price())
    if purchase is None:
        return None
    if created and purchase.status == Purchase.Status.REVIEW:
        staff_alert_held(purchase)
    if purchase.status == Purchase.Status.DUPLICATE and purchase.refunded_at is None:
        # Also on a later call for the same session: a refund that failed (Stripe down) is tried again.
        purchase_refund_duplicate(purchase)
    return purchase


@transaction.atomic
def _purchase_record(session: dict[str, Any], expected: tuple[int | None, str]) -> tuple[Purchase | None, bool]:
    """(the session's purchase, whether this call recorded it)."""
    session_id = session["id"]
    intent_id = _payment_intent_id(session)
    payment_lock(intent_id or session_id)
    existing = Purchase.objects.filter(stripe_session_id=session_id).first()
    if existing is not None:
        return existing, False
    problems = _price_problems(session, expected)
    # A session that is not our product at our price (another product on the same Stripe account, or a
    # tampered one) never creates a lead; for a lead we know, it is recorded and held for review.
    lead = session_lead(session, create=not problems)
    if lead is None and problems:
        logger.error("paid session %s is not our product and names no lead we know: %s", session_id,
                     "; ".join(problems))
        return None, False
    if lead is None:
        raise FulfilmentError(f"session {session_id} names no lead and no email")
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                stripe_session_id=session_id, lead=lead, scheduled_email=session_email_row(session, lead),
                amount_cents=max(int(session.get("amount_total") or 0), 0),
                currency=str(session.get("currency") or "")[:3], livemode=bool(session.get("livemode")),
                payment_intent_id=intent_id,
            )
    except IntegrityError:
        # Another fulfilment of the same session committed first (no payment intent to lock on): it granted.
        return Purchase.objects.get(stripe_session_id=session_id), False
    CheckoutSession.objects.filter(stripe_session_id=session_id).update(status=CheckoutSession.Status.COMPLETE)

    reversal = PaymentReversal.objects.filter(payment_intent_id=intent_id).order_by("-created_at").first() \
        if intent_id else None
    if reversal is not None:
        # The refund or dispute arrived before the completion: record the sale as reversed, grant nothing.
        purchase_mark_reversed(purchase, kind=reversal.kind)
        return purchase, True
    if problems:
        purchase.status = Purchase.Status.REVIEW
        purchase.review_reason = "; ".join(problems)[:255]
        purchase.save(update_fields=["status", "review_reason"])
        logger.error("purchase %s held for review: %s", purchase.pk, purchase.review_reason)
        # The buyer paid: they hear from us now, not only when staff decide.
        email_queue(lead=lead, step="order-review", key=session_id, context={"purchase_id": purchase.pk})
        return purchase, True
    # Two tabs paid at the same instant hold different payment locks: the buyer's row orders them, so the
    # second sees the first's committed purchase.
    Lead.objects.select_for_update().filter(pk=lead.pk).first()
    if Purchase.objects.filter(lead=lead, status=Purchase.Status.PAID).exclude(pk=purchase.pk).exists():
        # They already own it (two tabs, or /buy/ with their own address): refunded by the caller once this
        # transaction has committed, never counted as a sale, no second access email.
        purchase.status = Purchase.Status.DUPLICATE
        purchase.save(update_fields=["status"])
        return purchase, True
    lead_make_customer(lead=lead)
    email_queue(lead=lead, step="access", key=session_id, context={"purchase_id": purchase.pk})
    signals.purchase_paid.send(sender=Purchase, purchase=purchase)
    return purchase, True

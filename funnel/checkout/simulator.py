"""Objects in Stripe's shapes for the development checkout simulator (DEBUG without STRIPE_SECRET_KEY).

Only the fields our code or a reader of the event log would look at, with Stripe's names and types
(compare `fixtures/stripe/objects.json`). Pure functions: the state changes live in `simulator_actions`.
"""

import secrets
import time
from typing import Any

from django.urls import reverse

SIMULATED_PREFIX = "cs_test_sim_"
API_VERSION = "2025-08-27.basil"


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def session_build(params: dict[str, Any]) -> dict[str, Any]:
    """A `checkout.session` as Stripe returns it right after `create` with `params`."""
    now = int(time.time())
    session_id = _id(SIMULATED_PREFIX)
    item = params["line_items"][0]
    amount = (item.get("price_data") or {}).get("unit_amount")
    currency = (item.get("price_data") or {}).get("currency")
    if amount is None:  # a Price id: the simulator cannot look it up, so it charges our own price
        from django.conf import settings

        amount, currency = settings.PRODUCT_PRICE_CENTS, settings.PRODUCT_CURRENCY
    return {
        "id": session_id,
        "object": "checkout.session",
        "allow_promotion_codes": params.get("allow_promotion_codes"),
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": now,
        "currency": currency,
        "customer": None,
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": now + 86400,
        "livemode": False,
        "metadata": dict(params.get("metadata") or {}),
        "mode": params.get("mode"),
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "status": "open",
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "url": reverse("checkout-simulator", args=[session_id]),
    }


def charge_build(session: dict[str, Any], *, refunded: bool = False) -> dict[str, Any]:
    amount = session.get("amount_total") or 0
    return {
        "id": _id("ch_sim_"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount if refunded else 0,
        "created": int(time.time()),
        "currency": session.get("currency"),
        "livemode": False,
        "metadata": dict(session.get("metadata") or {}),
        "paid": True,
        "payment_intent": session.get("payment_intent"),
        "refunded": refunded,
        "status": "succeeded",
    }


def dispute_build(session: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("dp_sim_"),
        "object": "dispute",
        "amount": session.get("amount_total") or 0,
        "charge": _id("ch_sim_"),
        "created": int(time.time()),
        "currency": session.get("currency"),
        "livemode": False,
        "metadata": {},
        "payment_intent": session.get("payment_intent"),
        "reason": "fraudulent",
        "status": "needs_response",
    }


def event_build(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("evt_sim_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def payment_intent_id_new() -> str:
    return _id("pi_sim_")

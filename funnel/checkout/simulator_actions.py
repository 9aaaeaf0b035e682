"""What the development checkout simulator does to a simulated session, and the event it then sends.

The simulator's state machine lives here: which steps a reader could take next at Stripe in each state of the
session (paying twice or refunding an unpaid order cannot happen there, so it cannot happen here either), and
what each step changes. Every event is signed with STRIPE_WEBHOOK_SECRET exactly as Stripe signs, and handed to
the real webhook view, so the simulator exercises the same verification and storage as production; `make run`'s
worker then processes the event, as in production (the success page the simulator returns to fulfils a payment
at once, as there).
"""

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from funnel.checkout import simulator
from funnel.checkout.signatures import signature_header
from funnel.models import CheckoutSession

# What a reader could do next at Stripe, by the session's state.
NEXT_ACTIONS = {
    "open": {"pay", "pay_delayed", "cancel", "expire"},
    "pending": {"async_succeed", "async_fail"},
    "paid": {"refund", "dispute"},
}
PAY_ACTIONS = ("pay", "pay_delayed")


class ActionNotPossible(Exception):
    """The step cannot be taken in the session's current state."""


def simulated_session(session_id: str) -> dict[str, Any] | None:
    """The simulated session as Stripe would return it; None for a session the simulator did not make."""
    row = CheckoutSession.objects.filter(stripe_session_id=session_id, simulated_object__isnull=False).first()
    return None if row is None else dict(row.simulated_object or {})


def session_state(session: dict[str, Any]) -> str:
    if session.get("status") == "open":
        return "open"
    if session.get("status") == "complete":
        return "paid" if session.get("payment_status") == "paid" else "pending"
    return "closed"


def action_possible(session: dict[str, Any], action: str) -> bool:
    return action in NEXT_ACTIONS.get(session_state(session), set())


def simulated_action(session_id: str, session: dict[str, Any], *, action: str, email: str = "") -> str | None:
    """Take `action` on the session (for a payment, paid from `email`). Returns the path the reader goes to next,
    as Stripe sends them there: the cancel or success page; None to stay on the simulator's page."""
    if not action_possible(session, action):
        raise ActionNotPossible(action)
    if action == "cancel":
        return urlsplit(str(session.get("cancel_url") or "")).path or "/"
    if action in PAY_ACTIONS:
        simulated_pay(session_id, email=email, delayed=action == "pay_delayed")
        return_path = urlsplit(str(session.get("success_url") or "")).path or reverse("checkout-success")
        return f"{return_path}?session_id={session_id}"
    if action in ("async_succeed", "async_fail"):
        simulated_async_result(session_id, succeeded=action == "async_succeed")
    elif action == "expire":
        simulated_expire(session_id)
    elif action == "refund":
        simulated_refund(session_id)
    elif action == "dispute":
        simulated_dispute(session_id)
    return None


def event_post(event: dict[str, Any]) -> HttpResponse:
    """Sign and deliver one event to the webhook view in-process (as Stripe would over HTTP)."""
    from funnel.checkout.webhook import stripe_webhook

    body = json.dumps(event).encode()
    request = RequestFactory().post(
        reverse("stripe-webhook"), data=body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(body, secret=settings.STRIPE_WEBHOOK_SECRET),
    )
    return stripe_webhook(request)


@transaction.atomic
def _session_update(session_id: str, **changes: Any) -> dict[str, Any]:
    row = CheckoutSession.objects.select_for_update().get(stripe_session_id=session_id,
                                                          simulated_object__isnull=False)
    session = dict(row.simulated_object or {})
    session.update(changes)
    row.simulated_object = session
    row.save(update_fields=["simulated_object"])
    return session


def simulated_pay(session_id: str, *, email: str, delayed: bool) -> None:
    """Card payment (paid at once) or a delayed method such as a bank debit (completes unpaid)."""
    session = _session_update(
        session_id, status="complete", payment_status="unpaid" if delayed else "paid",
        payment_intent=simulator.payment_intent_id_new(),
        customer_details={"email": email, "name": None},
    )
    event_post(simulator.event_build("checkout.session.completed", session))


def simulated_async_result(session_id: str, *, succeeded: bool) -> None:
    if succeeded:
        session = _session_update(session_id, payment_status="paid")
        event_post(simulator.event_build("checkout.session.async_payment_succeeded", session))
    else:
        session = _session_update(session_id)
        event_post(simulator.event_build("checkout.session.async_payment_failed", session))


def simulated_expire(session_id: str) -> None:
    session = _session_update(session_id, status="expired")
    event_post(simulator.event_build("checkout.session.expired", session))


def simulated_refund(session_id: str) -> None:
    session = _session_update(session_id)
    event_post(simulator.event_build("charge.refunded", simulator.charge_build(session, refunded=True)))


def simulated_dispute(session_id: str) -> None:
    session = _session_update(session_id)
    event_post(simulator.event_build("charge.dispute.created", simulator.dispute_build(session)))

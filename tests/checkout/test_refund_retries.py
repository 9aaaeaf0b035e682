"""Issue 17 (5a): our refund of a buyer's second payment survives Stripe failing. Stripe stores the first answer
to an Idempotency-Key for 24 h and replays it, a 500 included (the fake does the same), so the event's retry
must send a new key after an answer from Stripe, and the same key after a timeout (Stripe may have refunded)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from emails.models import ScheduledEmail
from funnel.checkout.events import stripe_events_sweep
from funnel.models import Purchase, StripeEvent
from tests.checkout.conftest import checkout_open, checkout_pay, event_deliver, event_make, lead_make

pytestmark = pytest.mark.django_db


def _second_payment(client: Client, fake_stripe) -> tuple[str, str]:
    """A buyer pays in two tabs; the second payment's event is processed once. (its session id, its payment)"""
    lead = lead_make()
    first, second = checkout_open(client, lead), checkout_open(client, lead)
    checkout_pay(fake_stripe, first, "evt_first")
    checkout_pay(fake_stripe, second, "evt_second")
    return second, fake_stripe.sessions[second]["payment_intent"]


def _event_retried(event_id: str) -> None:
    """The sweep takes the failed event up again once its backoff is over, as beat would run it."""
    event = StripeEvent.objects.get(event_id=event_id)
    assert event.status == StripeEvent.Status.FAILED and event.retry_at is not None
    with time_machine.travel(event.retry_at + timedelta(seconds=1)):
        stripe_events_sweep()


def _refunded_once(session_id: str, intent: str, fake_stripe) -> Purchase:
    [refund] = fake_stripe.refunds.values()
    assert refund["payment_intent"] == intent
    purchase = Purchase.objects.get(stripe_session_id=session_id)
    assert purchase.status == Purchase.Status.DUPLICATE
    assert purchase.refunded_at is not None and purchase.refund_id == refund["id"]
    assert ScheduledEmail.objects.filter(lead=purchase.lead, step="duplicate-refunded").count() == 1
    assert StripeEvent.objects.get(event_id="evt_second").status == StripeEvent.Status.PROCESSED
    return purchase


def test_a_stripe_500_on_the_refund_is_retried_under_a_new_key_and_refunds_the_payment_once(client, fake_stripe):
    fake_stripe.fail_next(1, status=500, paths="/v1/refunds")
    session_id, intent = _second_payment(client, fake_stripe)
    assert not fake_stripe.refunds
    assert Purchase.objects.get(stripe_session_id=session_id).refunded_at is None

    _event_retried("evt_second")

    failed, retried = fake_stripe.requests_to("POST", "/v1/refunds")
    # Stripe stored the 500 under the first key and would replay it for 24 h: the retry must not reuse it.
    assert failed.idempotency_key != retried.idempotency_key
    assert failed.params["payment_intent"] == retried.params["payment_intent"] == intent
    _refunded_once(session_id, intent, fake_stripe)

    # The success page of that tab fulfils the session again: nothing more is asked of Stripe.
    assert client.get(f"/checkout/success/?session_id={session_id}").status_code == 200
    assert len(fake_stripe.requests_to("POST", "/v1/refunds")) == 2


def test_a_timeout_on_the_refund_is_retried_under_the_same_key_and_stripe_replays_its_one_refund(
        client, fake_stripe, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # the event's retry, not the library's, sends it again
    fake_stripe.stall_next(1, seconds=2.5, paths="/v1/refunds")  # Stripe refunds; its answer comes after 1 s
    session_id, intent = _second_payment(client, fake_stripe)
    assert len(fake_stripe.refunds) == 1  # done at Stripe, unknown to us
    assert Purchase.objects.get(stripe_session_id=session_id).refunded_at is None

    _event_retried("evt_second")

    timed_out, retried = fake_stripe.requests_to("POST", "/v1/refunds")
    assert timed_out.idempotency_key == retried.idempotency_key
    _refunded_once(session_id, intent, fake_stripe)


def test_a_payment_refunded_in_the_dashboard_after_our_failed_attempt_is_recorded_with_that_refund(
        client, fake_stripe):
    fake_stripe.fail_next(1, status=500, paths="/v1/refunds")
    session_id, intent = _second_payment(client, fake_stripe)
    dashboard_refund = fake_stripe.refund_direct(intent)  # staff refunded it by hand meanwhile
    event_deliver(Client(), event_make("charge.refunded", fake_stripe.charge_for(session_id, refunded=True)))

    _event_retried("evt_second")

    # Stripe refused a second refund (charge_already_refunded): the one that exists is recorded, the buyer told.
    purchase = _refunded_once(session_id, intent, fake_stripe)
    assert purchase.refund_id == dashboard_refund["id"]

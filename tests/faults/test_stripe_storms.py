"""Stripe at its worst: the same event delivered 20 times at once, a payment's events arriving in reverse, and
deliveries while our broker is down. Each must end in one purchase, one access email at most, and the state the
last real event implies.

Deliveries go through the real webhook; its queued task is run as a worker would (`event_deliver`), in each
delivering thread, so the processing races as the delivery does."""

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
import requests
import time_machine
from django.db import connections
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from funnel.checkout.events import stripe_event_process, stripe_event_record, stripe_events_sweep
from funnel.checkout.signatures import signature_header
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase, StripeEvent
from leads.models import Lead
from tests.checkout.conftest import WEBHOOK_SECRET, event_deliver, event_make, lead_make

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _stripe_settings(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SITE_URL = "http://testserver"
    settings.STRIPE_PRICE_ID = ""
    settings.DRIP_KICK_ON_QUEUE = False


@pytest.fixture
def lead(db: None) -> Lead:
    return lead_make()


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call in its own thread with its own database connection, released together (like 20 web workers)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - asserted by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def checkout(client: Client, fake: Any, lead: Lead) -> str:
    assert client.post(f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/").status_code == 303
    return CheckoutSession.objects.get(lead=lead).stripe_session_id


def test_the_same_event_20_times_concurrently_makes_one_purchase(client: Client, fake_stripe: Any,
                                                                  lead: Lead) -> None:
    session_id = checkout(client, fake_stripe, lead)
    fake_stripe.complete(session_id)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_storm")
    # Stripe answers the session lookup slowly, so many deliveries are inside processing together.
    fake_stripe.stall_next(3, seconds=0.3, paths=r"/v1/checkout/sessions/.*")

    answers = all_at_once([lambda: event_deliver(Client(), event).status_code for _ in range(20)])

    assert answers == [200] * 20, answers
    assert Purchase.objects.count() == 1 and Purchase.objects.get().status == Purchase.Status.PAID
    assert StripeEvent.objects.count() == 1 and StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    lead.refresh_from_db()
    assert lead.is_customer


def test_a_payments_events_in_reverse_order_end_in_the_right_state(client: Client, fake_stripe: Any,
                                                                    lead: Lead) -> None:
    """A bank debit: completed (unpaid), then async payment succeeded, then fully refunded. Delivered newest
    first, each twice: the sale ends refunded, without access, and was never granted twice."""
    session_id = checkout(client, fake_stripe, lead)
    fake_stripe.complete(session_id, payment_status="unpaid")
    completed = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_1")
    fake_stripe.complete(session_id, payment_status="paid")
    succeeded = event_make("checkout.session.async_payment_succeeded", dict(fake_stripe.sessions[session_id]),
                           event_id="evt_2")
    refunded = event_make("charge.refunded", fake_stripe.charge_for(session_id, refunded=True), event_id="evt_3")

    for event in (refunded, succeeded, completed, refunded, succeeded, completed):
        assert event_deliver(Client(), event).status_code == 200

    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.REFUNDED
    lead.refresh_from_db()
    assert not lead.is_customer
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() <= 1
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEvent.Status.PROCESSED}
    assert StripeEvent.objects.count() == 3


def test_paid_events_in_reverse_order_grant_once(client: Client, fake_stripe: Any, lead: Lead) -> None:
    """The success arrives before the (unpaid) completion that preceded it: one purchase, access, one email."""
    session_id = checkout(client, fake_stripe, lead)
    fake_stripe.complete(session_id, payment_status="unpaid")
    completed = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_a")
    fake_stripe.complete(session_id, payment_status="paid")
    succeeded = event_make("checkout.session.async_payment_succeeded", dict(fake_stripe.sessions[session_id]),
                           event_id="evt_b")

    def deliver(event: dict[str, Any]) -> Callable[[], int]:
        return lambda: event_deliver(Client(), event).status_code

    answers = all_at_once([deliver(e) for e in [succeeded, completed] * 10])

    assert answers == [200] * 20, answers
    assert Purchase.objects.count() == 1 and Purchase.objects.get().status == Purchase.Status.PAID
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    lead.refresh_from_db()
    assert lead.is_customer


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.parametrize("outage", ["refused", "frozen"])
def test_with_the_broker_down_deliveries_get_200_at_once_and_the_sweep_fulfils_them_later(
        fake_stripe: Any, private_redis: Any, web_server: Any, outage: str) -> None:
    """gunicorn with its broker gone (refused connections) or hung (accepts, never answers): Stripe still gets
    its 200 within the timeout it allows, each event is stored, and the sweep beat runs processes them."""
    site = web_server(REDIS_URL=private_redis.url, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    buyers = [lead_make(f"buyer{i}@example.com") for i in range(4)]
    events = []
    for buyer in buyers:
        session = fake_stripe.session_create_direct(metadata={"lead": str(buyer.pk)})
        fake_stripe.complete(session["id"])
        events.append(event_make("checkout.session.completed", dict(session), event_id=f"evt_outage_{buyer.pk}"))

    def deliver(event: dict[str, Any]) -> float:
        body = json.dumps(event).encode()
        started = time.monotonic()
        answer = requests.post(f"{site.url}/webhooks/stripe/", data=body, timeout=10, headers={
            "Content-Type": "application/json", "Stripe-Signature": signature_header(body, secret=WEBHOOK_SECRET)})
        assert answer.status_code == 200, answer.text
        return time.monotonic() - started

    deliver(events[0])  # the broker is up: a worker process loads its code and connects
    if outage == "refused":
        private_redis.kill()
    else:
        private_redis.freeze()
    durations = [deliver(event) for event in events[1:]]

    assert max(durations) < 2.0, f"webhook answers with the broker {outage}: {durations}"
    assert StripeEvent.objects.count() == 4
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {StripeEvent.Status.RECEIVED}
    assert not Purchase.objects.exists()

    # What beat runs, once the events are older than the sweep's grace period (their tasks never came).
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert stripe_events_sweep() == {StripeEvent.Status.PROCESSED: 4}
    assert set(Purchase.objects.values_list("lead__email", flat=True)) == {b.email for b in buyers}
    assert ScheduledEmail.objects.filter(step="access").count() == 4


def test_sweeps_racing_each_other_and_the_tasks_process_each_event_once(fake_stripe: Any, db: None) -> None:
    """Six sweeps (beat on one machine, workers on others) and every event's own task, all at once, over ten
    events nobody processed yet: each event is claimed by exactly one of them."""
    buyers = [lead_make(f"swept{i}@example.com") for i in range(10)]
    received_at = timezone.now()
    with time_machine.travel(received_at, tick=False):
        for buyer in buyers:
            session = fake_stripe.session_create_direct(metadata={"lead": str(buyer.pk)})
            fake_stripe.complete(session["id"])
            assert stripe_event_record(payload=event_make("checkout.session.completed", dict(session),
                                                          event_id=f"evt_swept_{buyer.pk}"))
    # Stripe answers slowly, so the racers overlap inside processing.
    fake_stripe.stall_next(5, seconds=0.2, paths=r"/v1/checkout/sessions/.*")
    event_ids = list(StripeEvent.objects.values_list("event_id", flat=True))

    with time_machine.travel(received_at + timedelta(minutes=1)):
        racers: list[Callable[[], Any]] = [stripe_events_sweep for _ in range(6)]
        racers += [partial(stripe_event_process, event_id=event_id) for event_id in event_ids]
        outcomes = all_at_once(racers)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Purchase.objects.count() == 10
    assert ScheduledEmail.objects.filter(step="access").count() == 10
    assert set(StripeEvent.objects.values_list("status", "attempts")) == {(StripeEvent.Status.PROCESSED, 1)}

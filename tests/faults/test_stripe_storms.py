"""Stripe at its worst: the same event delivered 20 times at once, and a payment's events arriving in reverse.
Each must end in one purchase, one access email at most, and the state the last real event implies."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from emails.models import ScheduledEmail
from funnel.checkout.services import upgrade_token
from funnel.models import CheckoutSession, Purchase, StripeEvent
from leads.models import Lead
from tests.checkout.conftest import WEBHOOK_SECRET, event_make, event_post, lead_make

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
    assert client.get(f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/").status_code == 303
    return CheckoutSession.objects.get(lead=lead).stripe_session_id


def test_the_same_event_20_times_concurrently_makes_one_purchase(client: Client, fake_stripe: Any,
                                                                  lead: Lead) -> None:
    session_id = checkout(client, fake_stripe, lead)
    fake_stripe.complete(session_id)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_storm")
    # Stripe answers the session lookup slowly, so many deliveries are inside processing together.
    fake_stripe.stall_next(3, seconds=0.3, paths=r"/v1/checkout/sessions/.*")

    answers = all_at_once([lambda: event_post(Client(), event).status_code for _ in range(20)])

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
        assert event_post(Client(), event).status_code == 200

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
        return lambda: event_post(Client(), event).status_code

    answers = all_at_once([deliver(e) for e in [succeeded, completed] * 10])

    assert answers == [200] * 20, answers
    assert Purchase.objects.count() == 1 and Purchase.objects.get().status == Purchase.Status.PAID
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    lead.refresh_from_db()
    assert lead.is_customer

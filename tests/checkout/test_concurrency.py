"""Races on the real PostgreSQL: every thread has its own connection, as separate web processes would."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from emails.models import ScheduledEmail
from funnel.checkout.fulfilment import purchase_fulfil
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase, StripeEvent
from tests.checkout.conftest import event_deliver, event_make

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Start all calls at the same instant, each in its own thread with its own DB connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def _paid(client, fake_stripe, lead) -> str:
    client.post(f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/")
    session_id = CheckoutSession.objects.get(lead=lead).stripe_session_id
    fake_stripe.complete(session_id)
    return session_id


def test_same_event_in_concurrent_requests_one_purchase_no_500(client, fake_stripe, lead):
    session_id = _paid(client, fake_stripe, lead)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id="evt_race")
    # Stripe answers the session lookup slowly, so both requests are inside processing at the same time.
    fake_stripe.stall_next(1, seconds=0.5, paths=r"/v1/checkout/sessions/.*")
    results = _race(*[lambda: event_deliver(Client(), event).status_code for _ in range(4)])

    assert results == [200, 200, 200, 200]
    assert Purchase.objects.count() == 1
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED


def test_different_events_for_one_session_racing_grant_once(client, fake_stripe, lead):
    session_id = _paid(client, fake_stripe, lead)
    session = dict(fake_stripe.sessions[session_id])
    events = [event_make("checkout.session.completed", session, event_id="evt_a"),
              event_make("checkout.session.async_payment_succeeded", session, event_id="evt_b")]
    results = _race(*[lambda e=e: event_deliver(Client(), e).status_code for e in events])
    assert results == [200, 200]
    assert Purchase.objects.count() == 1
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1


def test_success_page_and_webhook_racing_grant_once(client, fake_stripe, lead):
    session_id = _paid(client, fake_stripe, lead)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]))
    fake_stripe.stall_next(2, seconds=0.3, paths=r"/v1/checkout/sessions/.*")
    results = _race(
        lambda: client.get(f"/checkout/success/?session_id={session_id}").status_code,
        lambda: event_deliver(Client(), event).status_code,
    )
    assert results == [200, 200]
    assert Purchase.objects.count() == 1
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    assert client.session.get("access_lead_id") == lead.pk


def test_many_direct_fulfilments_racing(client, fake_stripe, lead):
    session_id = _paid(client, fake_stripe, lead)
    results = _race(*[lambda: getattr(purchase_fulfil(session_id=session_id), "pk", None) for _ in range(6)])
    assert len(set(results)) == 1 and all(isinstance(r, int) for r in results)
    assert Purchase.objects.count() == 1
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1


def test_refund_and_completion_racing_end_with_no_access(client, fake_stripe, lead):
    session_id = _paid(client, fake_stripe, lead)
    completed = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]))
    refunded = event_make("charge.refunded", fake_stripe.charge_for(session_id, refunded=True))
    results = _race(lambda: event_deliver(Client(), completed).status_code,
                    lambda: event_deliver(Client(), refunded).status_code)
    assert results == [200, 200]
    lead.refresh_from_db()
    assert not lead.is_customer
    assert Purchase.objects.get().status == Purchase.Status.REFUNDED

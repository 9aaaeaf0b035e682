"""A receiver that is down for a while gets the event once, after retries at the backoff's times; one that stays
down for three days has its endpoint disabled and staff emailed. The clock is time-machine's, moved like beat's
sweep would find the rows due."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from leads.models import Lead
from leads.services import lead_confirm
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.sender import deliveries_send_due

from .conftest import START, Receiver

pytestmark = pytest.mark.django_db


def test_a_receiver_down_for_a_while_gets_the_event_once_after_retries_in_backoff_order(
        endpoint: Endpoint, receiver: Receiver, make_lead: Any, clock: Any) -> None:
    now = clock(START)
    receiver.stop()
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING, email="eve@example.com"))

    assert deliveries_send_due() == 1  # refused: the receiver is down
    now.advance(timedelta(seconds=59))
    assert deliveries_send_due() == 0  # not due yet: a sweep every 20 s sends nothing early
    now.advance(timedelta(seconds=1))
    assert deliveries_send_due() == 1
    now.advance(timedelta(minutes=2))
    assert deliveries_send_due() == 1
    receiver.start()  # back up
    now.advance(timedelta(minutes=4) - timedelta(seconds=1))
    assert deliveries_send_due() == 0 and receiver.received == []
    now.advance(timedelta(seconds=1))
    assert deliveries_send_due() == 1
    delivered_at = now.now
    for _ in range(3):  # later sweeps find nothing: delivered once
        now.advance(timedelta(hours=8))
        assert deliveries_send_due() == 0

    (got,) = receiver.received
    assert got.signature_ok and got.event["data"]["lead"]["email"] == "eve@example.com"
    attempts = list(DeliveryAttempt.objects.order_by("started_at"))
    assert [a.succeeded for a in attempts] == [False, False, False, True]
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == [60, 120, 240]
    assert all(a.status_code is None and "Connection" in a.error for a in attempts[:3])
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (Delivery.Status.DELIVERED, 4, delivered_at)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None  # a success forgives the failures


def test_an_endpoint_failing_for_three_days_is_disabled_and_staff_are_emailed(
        endpoint: Endpoint, receiver: Receiver, make_lead: Any, clock: Any, settings: Any, admin: Client,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.STAFF_ALERT_EMAIL = ["ops@example.com"]
    receiver.status = 503
    now = clock(START)
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))

    for _ in range(40):  # beat's sweep, each time the row says it is due
        pending = Delivery.objects.filter(status=Delivery.Status.PENDING).first()
        if pending is None:
            break
        now.move_to(max(pending.next_attempt_at, now.now))
        with django_capture_on_commit_callbacks(execute=True):
            assert deliveries_send_due() == 1
        assert len(mail.outbox) == (0 if Delivery.objects.filter(status=Delivery.Status.PENDING).exists() else 1)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert 15 <= delivery.attempts <= 25 and len(receiver.received) == delivery.attempts
    last = DeliveryAttempt.objects.latest("started_at")
    assert last.started_at == START + timedelta(days=3) and last.status_code == 503
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at == START + timedelta(days=3)
    (alert,) = mail.outbox
    assert alert.to == ["ops@example.com"] and receiver.url in str(alert.subject) + str(alert.body)
    assert "failed since 2027-03-01T09:00" in alert.body

    # A disabled endpoint gets no new events, and its page says why.
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING))
    assert Delivery.objects.count() == 1
    admin.force_login(User.objects.get(username="ada"))  # three days later: the staff session has expired
    page = admin.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert "Disabled on 2027-03-04 09:00 UTC" in page

    # Staff turn it back on once the receiver is fixed: its old failures no longer count.
    answer = admin.post(f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
                        {"url": endpoint.url, "description": "", "events": endpoint.events, "is_active": "on"})
    assert answer.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None and endpoint.disabled_at is None

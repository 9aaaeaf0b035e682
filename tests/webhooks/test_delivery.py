"""Every event reaches a real receiver, signed; nothing is recorded for a change that rolls back; a real worker sends
the delivery once the change commits."""

import json
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.test import Client
from django.utils import timezone

from emails.tracking import email_event_record
from leads.models import Lead, TagChange
from leads.services import lead_confirm, lead_tag_add, lead_unsubscribe
from tests.checkout.conftest import checkout_open, checkout_pay, event_deliver, event_make
from tests.checkout.fake_stripe import FakeStripe
from tests.conftest import WorkerProcess, wait_until
from webhooks.models import Delivery, Endpoint
from webhooks.sender import deliveries_send_due

from .conftest import Receiver, endpoint_through_admin

pytestmark = pytest.mark.django_db


def test_a_confirmation_reaches_the_receiver_signed_and_the_log_shows_it(
        endpoint: Endpoint, receiver: Receiver, make_lead: Any, admin: Client) -> None:
    lead = make_lead(status=Lead.Status.PENDING, email="ann@example.com", first_name="Ann")
    lead_confirm(lead=lead)

    assert deliveries_send_due() == 1
    (got,) = receiver.received
    assert got.signature_ok and got.path == "/hooks/funnel"
    event = got.event
    assert event["type"] == "lead.confirmed" and event["id"].startswith("evt_")
    assert event["data"]["lead"]["email"] == "ann@example.com" and event["data"]["lead"]["status"] == "subscribed"
    assert got.headers["Funnel-Event-Id"] == event["id"]
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}" and got.headers["Content-Type"] == "application/json"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1)
    assert deliveries_send_due() == 0 and len(receiver.received) == 1  # delivered once

    log = admin.get(f"/admin/webhooks/delivery/?endpoint__id__exact={endpoint.pk}").content.decode()
    assert "lead.confirmed" in log and "Delivered" in log and '{&quot;received&quot;: true}' in log
    assert " ms</td>" in log
    page = admin.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content.decode()
    assert 'id="attempt-log"' in page and "200" in page and 'id="send-again"' in page


def test_the_secret_is_shown_once(admin: Client, receiver: Receiver) -> None:
    made, secret = endpoint_through_admin(admin, receiver.url, ["lead.confirmed"])
    assert secret.startswith("whsec_") and made.secret == secret
    for page in (f"/admin/webhooks/endpoint/{made.pk}/change/", "/admin/webhooks/endpoint/"):
        html = admin.get(page).content.decode()
        assert secret not in html and made.url in html


def test_each_event_type_with_its_data_and_only_to_endpoints_that_take_it(
        endpoint: Endpoint, receiver: Receiver, make_lead: Any, admin: Client) -> None:
    only_confirmations = Receiver().start()
    try:
        _, only_confirmations.secret = endpoint_through_admin(admin, only_confirmations.url, ["lead.confirmed"])
        lead = make_lead(email="bo@example.com")
        lead_tag_add(lead=lead, tag="webinar-may", source=TagChange.Source.ADMIN, by="ada")
        email_event_record(event=AnymailTrackingEvent(event_type=EventType.BOUNCED, event_id="b1",
                                                      recipient=lead.email, timestamp=timezone.now(),
                                                      metadata={"lead_id": lead.pk}, reject_reason="bounced"),
                           esp_name="Postmark")
        email_event_record(event=AnymailTrackingEvent(event_type=EventType.COMPLAINED, event_id="c1",
                                                      recipient=lead.email, timestamp=timezone.now(),
                                                      metadata={"lead_id": lead.pk}), esp_name="Postmark")
        lead_unsubscribe(lead=lead)
        assert deliveries_send_due() == 4
        events = {r.event["type"]: r.event["data"] for r in receiver.received}
        assert all(r.signature_ok for r in receiver.received)
        tagged = events["lead.tagged"]
        assert tagged["tag"] == "webinar-may" and tagged["lead"]["tags"] == ["webinar-may"]
        assert events["email.bounced"]["email"]["bounce"] == "hard"
        assert events["email.complained"]["email"]["event"] == "complained"
        assert events["lead.unsubscribed"]["lead"]["status"] == "unsubscribed"
        assert only_confirmations.received == []
    finally:
        only_confirmations.stop()


def test_purchase_paid_and_refunded(endpoint: Endpoint, receiver: Receiver, make_lead: Any,
                                    fake_stripe: FakeStripe) -> None:
    lead = make_lead(email="cy@example.com")
    session_id = checkout_open(Client(), lead)
    checkout_pay(fake_stripe, session_id, "evt_paid")
    deliveries_send_due()
    charge = fake_stripe.charge_for(session_id, refunded=True)
    assert event_deliver(Client(), event_make("charge.refunded", charge)).status_code == 200
    assert event_deliver(Client(), event_make("charge.refunded", charge)).status_code == 200  # Stripe retries
    deliveries_send_due()

    paid, refunded = (r.event for r in receiver.received)
    assert paid["type"] == "purchase.paid" and refunded["type"] == "purchase.refunded"
    assert paid["data"]["purchase"]["amount"] == 997 and paid["data"]["purchase"]["currency"] == "usd"
    assert paid["data"]["lead"]["email"] == "cy@example.com"
    assert refunded["data"]["purchase"]["status"] == "refunded"


def test_a_change_that_rolls_back_announces_nothing(endpoint: Endpoint, make_lead: Any) -> None:
    lead = make_lead(status=Lead.Status.PENDING)
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_confirm(lead=lead)
        assert Delivery.objects.count() == 1
        raise RuntimeError("the view failed after confirming")
    assert not Delivery.objects.exists()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_it_once_the_confirmation_commits(
        receiver: Receiver, make_lead: Any, celery_worker_process: WorkerProcess) -> None:
    from django.contrib.auth.models import User

    admin = Client()
    admin.force_login(User.objects.create_superuser("ada", "ada@example.com", "pw"))
    _, receiver.secret = endpoint_through_admin(admin, receiver.url, ["lead.confirmed"])
    celery_worker_process.start()
    lead_confirm(lead=make_lead(status=Lead.Status.PENDING, email="dee@example.com"))

    wait_until(lambda: receiver.received, timeout=30,
               what=f"the worker to deliver; worker log:\n{celery_worker_process.log()[-2000:]}")
    (got,) = receiver.received
    assert got.signature_ok and json.loads(got.body)["data"]["lead"]["email"] == "dee@example.com"
    wait_until(lambda: Delivery.objects.filter(status=Delivery.Status.DELIVERED).exists(), what="the log")


def test_an_erased_reader_leaves_the_delivery_log(endpoint: Endpoint, make_lead: Any) -> None:
    from leads.services import lead_erase

    lead = make_lead(status=Lead.Status.PENDING, email="gone@example.com")
    lead_confirm(lead=lead)
    assert "gone@example.com" in Delivery.objects.get().body
    lead_erase(lead=lead)
    assert not Delivery.objects.filter(body__contains="gone@example.com").exists()

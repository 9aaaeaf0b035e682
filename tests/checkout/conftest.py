"""Checkout fixtures: the fake Stripe API, our webhook secret, leads, and signed event delivery."""

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from funnel.checkout.signatures import signature_header
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, StripeEvent
from funnel.tasks import process_stripe_event
from leads.models import Lead
from tests.checkout.fake_stripe import FakeStripe, fake_stripe_start, fake_stripe_stop, fixture

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture(autouse=True)
def _checkout_settings(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SITE_URL = "http://testserver"
    settings.STRIPE_PRICE_ID = ""
    settings.DRIP_KICK_ON_QUEUE = False  # no broker round-trips from these tests; rows are asserted directly
    cache.clear()  # rate-limit counters live in this test run's own Redis db


@pytest.fixture
def fake_stripe(settings: Any) -> Iterator[FakeStripe]:
    fake = fake_stripe_start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key_for_tests"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_API_TIMEOUT_SECONDS = 1.0
    yield fake
    fake_stripe_stop(fake)


@pytest.fixture
def simulator_on(settings: Any) -> None:
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def lead_make(email: str = "reader@example.com", *, status: str = Lead.Status.SUBSCRIBED, **fields: Any) -> Lead:
    return Lead.objects.create(email=email, first_name="Robin", status=status,
                               confirmed_at=timezone.now() if status == Lead.Status.SUBSCRIBED else None, **fields)


def email_row_make(lead: Lead, step: str = "day-3") -> ScheduledEmail:
    return ScheduledEmail.objects.create(lead=lead, step=step, stream=ScheduledEmail.Stream.MARKETING,
                                         send_at=timezone.now(), status=ScheduledEmail.Status.SENT,
                                         sent_at=timezone.now())


@pytest.fixture
def lead(db: None) -> Lead:
    return lead_make()


def event_make(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An event in Stripe's shape (the fixture's envelope) around `obj`."""
    event = fixture("event")
    event.update(id=event_id or f"evt_{time.monotonic_ns()}", type=event_type, created=int(time.time()),
                 data={"object": obj}, api_version="2025-08-27.basil", livemode=bool(obj.get("livemode")))
    return event


def event_post(client: Client, event: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET,
               timestamp: int | None = None, header: str | None = None) -> Any:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    if header is None:
        header = signature_header(body, secret=secret, timestamp=timestamp)
    headers = {"Stripe-Signature": header} if header else {}
    return client.post("/webhooks/stripe/", data=body, content_type="application/json", headers=headers)


def event_deliver(client: Client, event: dict[str, Any], **kwargs: Any) -> Any:
    """Post the event as Stripe does, then run the task the webhook queued, as a worker would.

    The webhook never processes: its task is queued on commit, which a test inside a transaction never reaches.
    `Task.apply` runs the real task body in this process, on this test's database.
    """
    response = event_post(client, event, **kwargs)
    if response.status_code == 200:
        process_stripe_event.apply(args=(event["id"],))
    return response


def worker_drain() -> list[str | None]:
    """Run the task of every stored event still waiting for one, oldest first, as a worker would."""
    waiting = StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED).order_by("received_at", "pk")
    return [process_stripe_event.apply(args=(event_id,)).get()
            for event_id in waiting.values_list("event_id", flat=True)]


def checkout_open(client: Client, lead: Lead) -> str:
    """One browser tab: the reader presses "Continue to secure checkout" on their upgrade link. The session id."""
    token = upgrade_token(lead_id=lead.pk, email_row_id=None)
    assert client.post(f"/upgrade/{token}/").status_code == 303
    return CheckoutSession.objects.filter(lead=lead).latest("created_at").stripe_session_id


def checkout_pay(fake_stripe: FakeStripe, session_id: str, event_id: str) -> None:
    """The buyer pays at Stripe, and Stripe's `checkout.session.completed` event is delivered and processed."""
    fake_stripe.complete(session_id)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]), event_id=event_id)
    assert event_deliver(Client(), event).status_code == 200


def found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text`; fails the test when it is not there."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not found"
    return match.group(1)

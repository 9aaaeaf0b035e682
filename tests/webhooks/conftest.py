"""The receiver (tests/webhooks/receiver.py) as a fixture, and endpoints made the way staff make them (the admin's
add form, the secret read off the page shown once)."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

# The checkout's fake Stripe and its settings, for purchase.paid and purchase.refunded.
from tests.checkout.conftest import _checkout_settings, fake_stripe  # noqa: F401
from tests.drip.conftest import clock, make_lead  # noqa: F401 - fixtures used by these tests
from tests.webhooks.receiver import Receiver, readme_receiver_code, readme_verifier  # noqa: F401
from webhooks.models import Endpoint

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def admin(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ada", "ada@example.com", "pw"))
    return client


def endpoint_through_admin(client: Client, url: str, events: list[str]) -> tuple[Endpoint, str]:
    """Staff add an endpoint; returns it and the secret the page showed (once)."""
    page = client.post("/admin/webhooks/endpoint/add/", {"url": url, "description": "CRM", "events": events})
    assert page.status_code == 200, page.content.decode()[:2000]
    found = re.search(r'<code id="endpoint-secret">([^<]+)</code>', page.content.decode())
    assert found is not None, "the page after adding shows no secret"
    return Endpoint.objects.get(url=url), found.group(1)


@pytest.fixture
def endpoint(admin: Client, receiver: Receiver) -> Endpoint:
    """An endpoint for every event, its receiver holding the secret."""
    from webhooks.models import EVENT_TYPES

    made, receiver.secret = endpoint_through_admin(admin, receiver.url, [name for name, _ in EVENT_TYPES])
    return made

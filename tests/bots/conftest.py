"""Bots and list bombing: the production defaults for the fill time and the caps, a clock the test holds, mail
caught by anymail's test backend, and a signup helper that plays a reader who took their time."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import time_machine
from django.test import Client

from emails import dispatch
from funnel.landing import caps_redis
from leads.bots import form_stamp_make
from tests.signup.conftest import form_data, unique_ip

# A fixed instant, five minutes into an hour: what is sent now and what waits for the next hour never depends on
# when the test runs.
START = datetime(2027, 3, 10, 10, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _bots_defaults(settings: Any) -> None:
    settings.SIGNUP_MIN_FILL_SECONDS = 2.0  # the production default (the test settings turn it off)
    settings.FUNNEL_DOUBLE_OPT_IN = True
    settings.TRUSTED_PROXY_IP_HEADER = ""
    settings.SIGNUP_RATE_LIMIT = "10/h"
    settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = 300
    settings.CONFIRMATION_CAP_PER_HOUR = 3000
    settings.DRIP_KICK_ON_QUEUE = False
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


@pytest.fixture(autouse=True)
def _no_bookings_left(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bookings in Redis outlive a test's rolled-back transaction: each test starts with none (only ours, in the
    Redis database this run owns), and with Redis asked again even if an earlier test took it away."""
    monkeypatch.setattr(caps_redis, "_suspended_until", 0.0)
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("confirm-cap:*"):
            client.delete(key)


@pytest.fixture
def clock() -> Iterator[Any]:
    """The clock stands at START until the test moves it (`clock.move_to(...)`)."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def reader_signup(email: str, *, ip: str | None = None, **fields: str) -> Any:
    """POST the form as a reader who opened the page a minute ago, from an address of their own."""
    stamp = form_stamp_make(at=datetime.now(UTC).timestamp() - 60)
    client = Client(REMOTE_ADDR=ip or unique_ip(), HTTP_USER_AGENT="Mozilla/5.0 (bots test)")
    return client.post("/signup/", form_data(email=email, form_stamp=stamp, **fields))


def dispatch_all() -> None:
    """Run the dispatcher until nothing is due, as beat would every few seconds."""
    while dispatch.dispatch_due():
        pass

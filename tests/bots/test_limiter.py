"""Every rate limit goes through `limits`: enforced on Redis (shared by every web process) and, without Redis,
in the process's memory; with Redis down it fails open, so people can still sign up."""

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from emails.models import ScheduledEmail
from leads.models import Lead
from leads.ratelimit import rate_limit_hit
from tests.bots.conftest import START, reader_signup
from tests.private_redis import PrivateRedis, private_redis_running
from tests.signup.conftest import unique_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis_running(tmp_path / "redis") as server:
        yield server


def _signups_from_one_address(n: int, prefix: str) -> list[int]:
    ip = unique_ip()
    return [reader_signup(f"{prefix}{i}@example.com", ip=ip).status_code for i in range(n)]


def test_the_signup_rate_limit_is_enforced_without_redis(settings: Any, clock: Any) -> None:
    settings.REDIS_URL = ""  # the embedded default: counted in this process
    settings.SIGNUP_RATE_LIMIT = "3/h"
    assert _signups_from_one_address(5, "mem") == [302, 302, 302, 429, 429]
    assert Lead.objects.filter(email__startswith="mem").count() == 3


def test_each_scope_and_client_has_its_own_count(settings: Any) -> None:
    settings.REDIS_URL = ""
    ip, other = unique_ip(), unique_ip()
    assert [rate_limit_hit(scope="signin", ip=ip, rate="2/m") for _ in range(3)] == [False, False, True]
    assert rate_limit_hit(scope="signin", ip=other, rate="2/m") is False
    assert rate_limit_hit(scope="checkout", ip=ip, rate="2/m") is False


@pytest.mark.redis
def test_on_redis_the_limit_is_enforced_and_fails_open_while_redis_is_down(
        settings: Any, clock: Any, private_redis: PrivateRedis, caplog: Any) -> None:
    settings.REDIS_URL = private_redis.url
    settings.SIGNUP_RATE_LIMIT = "2/h"
    assert _signups_from_one_address(3, "up") == [302, 302, 429]
    counted = redis.Redis.from_url(private_redis.url).keys("ratelimit*")
    assert counted, "the counts are in Redis, shared by every web process"

    private_redis.kill()
    caplog.set_level(logging.WARNING, logger="leads.ratelimit")
    started = time.monotonic()
    assert _signups_from_one_address(4, "down") == [302] * 4  # fails open: nobody is turned away
    assert time.monotonic() - started < 8.0
    assert Lead.objects.filter(email__startswith="down").count() == 4
    # The caps are in the same Redis: they fail open too, and the confirmations are due now.
    due = ScheduledEmail.objects.filter(step="confirm", lead__email__startswith="down")
    assert list(due.values_list("send_at", flat=True)) == [START] * 4
    assert "rate limit storage unavailable" in caplog.text

    private_redis.start()  # back: limits apply again, with no restart of the web process
    assert _signups_from_one_address(3, "back") == [302, 302, 429]

"""Client IP, rate-limit buckets and concurrent signups of one address."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from emails.models import ScheduledEmail
from funnel.models import DailyVisit
from leads.client import client_ip
from leads.models import ConsentRecord, Lead
from leads.ratelimit import _bucket, parse_rate
from tests.signup.conftest import form_data, unique_ip


@pytest.mark.parametrize(("header", "remote", "forwarded", "expected"), [
    ("", "192.0.2.1", "203.0.113.5", "192.0.2.1"),  # no trusted proxy: the header is ignored
    ("HTTP_X_FORWARDED_FOR", "10.0.0.1", "203.0.113.5", "203.0.113.5"),
    ("HTTP_X_FORWARDED_FOR", "10.0.0.1", "1.1.1.1, 203.0.113.5", "203.0.113.5"),  # right-most hop
    ("HTTP_X_FORWARDED_FOR", "10.0.0.1", "not-an-ip", "10.0.0.1"),  # garbage: fall back to the socket
    ("HTTP_X_FORWARDED_FOR", "10.0.0.1", "", "10.0.0.1"),
    ("HTTP_X_REAL_IP", "10.0.0.1", "2001:db8::7", "2001:db8::7"),
])
def test_client_ip(settings: Any, header: str, remote: str, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXY_IP_HEADER = header
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_REAL_IP=forwarded)
    assert client_ip(request) == expected


@pytest.mark.parametrize("remote", ["192.0.2.50", "192.0.2.201", "2001:db8::1"])
def test_forwarded_header_is_ignored_when_the_app_is_reached_directly(settings: Any, remote: str) -> None:
    # Found: compose published gunicorn while trusting X-Forwarded-For, so any client chose its own IP.
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_IPS = ["192.0.2.200"]  # the proxy's address
    spoofed = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert client_ip(spoofed) == remote
    via_proxy = RequestFactory().get("/", REMOTE_ADDR="192.0.2.200", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert client_ip(via_proxy) == "203.0.113.99"


@pytest.mark.django_db
@pytest.mark.redis
def test_spoofed_forwarded_for_does_not_escape_the_signup_rate_limit(settings: Any, client: Client,
                                                                    held_clock: datetime) -> None:
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_IPS = ["192.0.2.200"]
    settings.SIGNUP_RATE_LIMIT = "2/h"
    attacker = unique_ip()
    answers = [client.post("/signup/", form_data(email=f"spoof{i}@example.com"), REMOTE_ADDR=attacker,
                           HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert 429 not in answers[:2] and answers[2:] == [429, 429]
    consents = ConsentRecord.objects.filter(lead__email__startswith="spoof")
    assert set(consents.values_list("ip_address", flat=True)) == {attacker}


def test_rate_buckets_group_ipv6_by_64() -> None:
    assert _bucket("2001:db8:1:2::1") == _bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert _bucket("2001:db8:1:3::1") != _bucket("2001:db8:1:2::1")
    assert _bucket("192.0.2.1") != _bucket("192.0.2.2")
    assert parse_rate("10/h") == (10, 3600) and parse_rate("5/minute") == (5, 60)


def _in_thread(fn: Any) -> Any:
    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        finally:
            connection.close()
    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_of_one_address_make_one_lead_and_one_confirmation(settings: Any) -> None:
    settings.DRIP_KICK_ON_QUEUE = False

    @_in_thread
    def sign_up(_: int) -> int:
        return Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data(email="race@example.com")).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(sign_up, range(6)))
    assert codes == [302] * 6
    lead = Lead.objects.get(email="race@example.com")
    assert ConsentRecord.objects.filter(lead=lead).count() == 6
    assert ScheduledEmail.objects.filter(lead=lead, step="confirm").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_of_one_mailbox_in_many_spellings_get_one_confirmation(settings: Any) -> None:
    settings.DRIP_KICK_ON_QUEUE = False
    spellings = ["ann.lee@gmail.com", "annlee@gmail.com", "Ann.Lee+a@gmail.com", "a.n.n.lee+b@gmail.com",
                 "annlee+c@googlemail.com", "ANNLEE@gmail.com"]

    @_in_thread
    def sign_up(email: str) -> int:
        return Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data(email=email)).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(sign_up, spellings))
    assert codes == [302] * 6
    assert ScheduledEmail.objects.filter(step="confirm").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_visits_of_the_day_lose_no_count() -> None:
    @_in_thread
    def visit(_: int) -> int:
        return Client(HTTP_USER_AGENT="Mozilla/5.0").get("/?utm_source=race").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(visit, range(40))) == {200}
    assert DailyVisit.objects.get(utm_source="race").count == 40

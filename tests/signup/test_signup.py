"""Signing up: validation, consent records, honeypot, no enumeration, one sequence only."""

import re
import time
from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from emails.models import ScheduledEmail
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.models import ConsentRecord, Lead
from tests.signup.conftest import form_data, make_lead, unique_ip

pytestmark = pytest.mark.django_db


def test_signup_creates_pending_lead_with_consent_record_and_queues_confirmation(
        client: Client, client_ip_addr: str) -> None:
    response = client.post("/signup/", form_data(email="  Reader@Example.COM "))
    assert response.status_code == 302 and response["Location"] == "/thanks/"
    lead = Lead.objects.get()
    assert lead.email == "reader@example.com"
    assert lead.status == Lead.Status.PENDING
    assert (lead.first_name, lead.time_zone) == ("Dana", "Europe/Berlin")
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("newsletter", "email", "spring")
    assert lead.referrer == "https://search.example/" and lead.landing_path == "/?utm_source=newsletter"
    consent = ConsentRecord.objects.get()
    assert consent.action == ConsentRecord.Action.SIGNUP
    assert (consent.consent_version, consent.consent_text) == (CONSENT_VERSION, CONSENT_TEXT)
    assert consent.ip_address == client_ip_addr
    assert consent.user_agent == "Mozilla/5.0 (signup test)"
    assert consent.email_sha256 and "reader" not in consent.email_sha256
    row = ScheduledEmail.objects.get()
    assert (row.step, row.stream) == ("confirm", "transactional")
    # No sequence before the address is confirmed.
    assert not ScheduledEmail.objects.filter(stream="marketing").exists()


def test_thank_you_page_explains_the_next_step(client: Client) -> None:
    page = client.post("/signup/", form_data(), follow=True)
    assert page.status_code == 200
    assert b"check your inbox" in page.content
    assert b"Education, not medical advice." in page.content


@pytest.mark.parametrize("zone", ["", "Not/AZone", "../../etc/passwd", "x" * 500])
def test_missing_or_bogus_time_zone_falls_back_to_the_default(client: Client, settings: Any, zone: str) -> None:
    settings.DRIP_DEFAULT_TIME_ZONE = "America/Chicago"
    assert client.post("/signup/", form_data(time_zone=zone)).status_code == 302
    assert Lead.objects.get().time_zone == "America/Chicago"


def test_unicode_name_and_international_domain_are_welcome(client: Client) -> None:
    client.post("/signup/", form_data(first_name=" Zoe\u0308 李 ", email="Ana@Bücher.example"))
    lead = Lead.objects.get()
    assert lead.first_name == "Zoë 李"  # NFC-normalised, trimmed
    assert lead.email == "ana@xn--bcher-kva.example"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"consent": None}, "consent", "Please tick the box"),
    ({"consent_version": "2020-01-01"}, "consent", "We updated the wording"),
    ({"email": ""}, "email", "Please enter your email address."),
    ({"email": "reader.example.com"}, "email", "missing its @ part"),
    ({"email": "reader@"}, "email", "missing its domain"),
    ({"email": "reader@localhost"}, "email", "missing its domain"),
    ({"email": "read er@example.com"}, "email", "does not look like a working email address"),
    ({"email": "reader@exa_mple.com"}, "email", "does not look like a working email address"),
    ({"email": "reader@example.com\r\nBcc: victim@example.org"}, "email", "on one line"),
    ({"email": "a" * 250 + "@example.com"}, "email", "too long"),
    ({"first_name": "D" * 10_240}, "first_name", "under 100 characters"),
    ({"first_name": "Dana\r\nBcc: victim@example.org"}, "first_name", "on one line"),
    ({"first_name": "Dana\u202e"}, "first_name", "on one line"),
    ({"first_name": "Visit https://spam.example"}, "first_name", "just your first name"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(
        client: Client, overrides: dict[str, Any], field: str, message: str) -> None:
    response = client.post("/signup/", form_data(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'id="id_{field}"' in html and 'aria-invalid="true"' in html
    assert not Lead.objects.exists() and not ConsentRecord.objects.exists()


def test_empty_form_asks_for_email_and_consent(client: Client) -> None:
    response = client.post("/signup/", {})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please enter your email address." in html and "Please tick the box" in html
    assert not Lead.objects.exists()


def test_missing_csrf_token_is_forbidden() -> None:
    csrf_client = Client(enforce_csrf_checks=True, REMOTE_ADDR=unique_ip())
    assert csrf_client.post("/signup/", form_data()).status_code == 403
    assert not Lead.objects.exists()


def test_real_form_round_trip_with_csrf_enforced() -> None:
    """The CSRF token from the page itself is accepted (the form works without JavaScript)."""
    csrf_client = Client(enforce_csrf_checks=True, REMOTE_ADDR=unique_ip())
    page = csrf_client.get("/")
    token = page.context["csrf_token"]
    response = csrf_client.post("/signup/", form_data(csrfmiddlewaretoken=str(token)))
    assert response.status_code == 302
    assert Lead.objects.filter(email="reader@example.com").exists()


def test_get_on_signup_is_not_allowed(client: Client) -> None:
    assert client.get("/signup/").status_code == 405


def test_honeypot_gets_the_same_page_and_nothing_is_stored(client: Client) -> None:
    human = Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data(email="person@example.com"))
    bot = client.post("/signup/", form_data(email="bot@example.com", website="https://cheap-pills.example"))
    assert (bot.status_code, bot["Location"], bot.content) == (human.status_code, human["Location"], human.content)
    assert list(Lead.objects.values_list("email", flat=True)) == ["person@example.com"]
    assert ConsentRecord.objects.count() == 1


def _signup_as_stranger(email: str) -> tuple[int, str, bytes, bytes]:
    stranger = Client(REMOTE_ADDR=unique_ip())
    response = stranger.post("/signup/", form_data(email=email, first_name="Mallory"))
    page = stranger.get(response["Location"]).content
    # The page repeats what this stranger typed (and carries their own CSRF token): equal once those are masked.
    page = page.replace(email.encode(), b"TYPED")
    page = re.sub(rb'name="(csrfmiddlewaretoken|form_stamp)" value="[^"]+"', rb'name="\1" value="X"', page)
    return response.status_code, response["Location"], response.content, page


def test_no_enumeration_every_kind_of_address_gets_identical_responses() -> None:
    make_lead("pending@example.com", Lead.Status.PENDING)
    make_lead("subscribed@example.com")
    make_lead("unsubscribed@example.com", Lead.Status.UNSUBSCRIBED)
    make_lead("buyer@example.com", is_customer=True)
    outcomes = {email: _signup_as_stranger(email) for email in
                ("new@example.com", "pending@example.com", "subscribed@example.com", "unsubscribed@example.com",
                 "buyer@example.com")}
    assert len(set(outcomes.values())) == 1, outcomes
    status, location, _, page = outcomes["new@example.com"]
    assert (status, location) == (302, "/thanks/") and b"You entered <strong class=\"address\">TYPED</strong>" in page
    # A stranger typing a known address changes nothing about that lead.
    assert set(Lead.objects.exclude(email="new@example.com").values_list("first_name", flat=True)) == {"Existing"}


def test_resignup_never_starts_a_second_sequence(client: Client, settings: Any) -> None:
    settings.FUNNEL_DOUBLE_OPT_IN = False
    client.post("/signup/", form_data())
    lead = Lead.objects.get()
    assert lead.status == Lead.Status.SUBSCRIBED
    steps = sorted(ScheduledEmail.objects.filter(lead=lead).values_list("step", flat=True))
    assert steps == sorted(["welcome", *[f"day-{n}" for n in range(1, 8)]])
    for _ in range(3):
        Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data())
    assert ScheduledEmail.objects.filter(lead=lead).count() == 8


def test_resignup_while_pending_sends_at_most_one_confirmation_a_day(client: Client) -> None:
    for _ in range(3):
        client.post("/signup/", form_data())
    assert ScheduledEmail.objects.filter(step="confirm").count() == 1
    assert ConsentRecord.objects.filter(action="signup").count() == 3  # each submission is on record


def test_resignup_after_unsubscribing_needs_a_confirmation_even_without_double_opt_in(
        client: Client, settings: Any) -> None:
    settings.FUNNEL_DOUBLE_OPT_IN = False
    lead = make_lead("back@example.com", Lead.Status.UNSUBSCRIBED)
    client.post("/signup/", form_data(email="back@example.com"))
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED  # a stranger cannot undo someone's unsubscribe
    assert ScheduledEmail.objects.get(lead=lead).step == "confirm"


def test_existing_subscriber_gets_no_mail_from_a_resignup(client: Client) -> None:
    lead = make_lead("reader@example.com")
    client.post("/signup/", form_data())
    assert not ScheduledEmail.objects.filter(lead=lead).exists()


@pytest.mark.redis
def test_rate_limit_per_ip_on_the_real_redis_cache(settings: Any, held_clock: datetime) -> None:
    from django.core.cache import caches

    assert type(caches["default"]).__name__ == "RedisCache"
    settings.SIGNUP_RATE_LIMIT = "3/h"
    ip = unique_ip()
    limited = Client(REMOTE_ADDR=ip)
    codes = [limited.post("/signup/", form_data(email=f"r{n}@example.com")).status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    assert Lead.objects.count() == 3
    assert b"Too many signups" in limited.post("/signup/", form_data(email="r9@example.com")).content
    # Another address is not affected.
    assert Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data(email="other@example.com")).status_code == 302


@pytest.mark.redis
def test_client_ip_comes_from_the_trusted_proxy_header_only_when_configured(settings: Any,
                                                                            held_clock: datetime) -> None:
    settings.SIGNUP_RATE_LIMIT = "1/h"
    proxy = "10.0.0.1"
    # Without the setting, a forged X-Forwarded-For is ignored: every request counts against the proxy address.
    a = Client(REMOTE_ADDR=unique_ip(), HTTP_X_FORWARDED_FOR=unique_ip())
    assert a.post("/signup/", form_data(email="a1@example.com")).status_code == 302
    a.defaults["HTTP_X_FORWARDED_FOR"] = unique_ip()
    assert a.post("/signup/", form_data(email="a2@example.com")).status_code == 429

    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_IPS = [proxy]
    real = unique_ip()
    first = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {real}")
    assert first.post("/signup/", form_data(email="b1@example.com")).status_code == 302
    assert ConsentRecord.objects.get(lead__email="b1@example.com").ip_address == real
    # The client may forge the left part of the header, never the hop our proxy appended.
    spoof = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{unique_ip()}, {real}")
    assert spoof.post("/signup/", form_data(email="b2@example.com")).status_code == 429
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=unique_ip())
    assert other.post("/signup/", form_data(email="b3@example.com")).status_code == 302


def test_signup_still_works_quickly_when_the_cache_hangs(settings: Any, caplog: Any) -> None:
    """Fail open: a Redis that accepts connections but never answers costs well under 2 s."""
    import socket

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    try:
        settings.REDIS_URL = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"  # where the limiter counts
        started = time.monotonic()
        response = Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data())
        elapsed = time.monotonic() - started
    finally:
        hung.close()
    assert response.status_code == 302
    assert elapsed < 2.0, elapsed
    assert Lead.objects.filter(email="reader@example.com").exists()
    assert "rate limit storage unavailable" in caplog.text

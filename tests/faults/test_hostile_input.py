"""Hostile input, generated (hypothesis): the signup form and every URL that carries a token, fed CR/LF, Unicode,
over-long, truncated, tampered and swapped tokens. Never a 500, never an injected header, never another
person's data, never a change to another person's state."""

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emails.message import build_message
from emails.models import ScheduledEmail
from emails.rendering import render_email
from funnel.checkout.signin import signin_token
from funnel.checkout.start import upgrade_token
from leads import tokens
from leads.confirmation import confirm_token_make
from leads.models import Lead

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

VICTIM_EMAIL, VICTIM_NAME = "victim.person@example.com", "Victoriana"
INJECTION = "\r\nX-Injected: yes"
nasty_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(list("aé€𝔘\u202e\u200b\x00\r\n\t<>\"'%;:/\\@.")), max_size=60),
    st.sampled_from([INJECTION, "a\r\nb", "%0d%0aX-Injected:%20yes", "\u2028", "x" * 5000, "é" * 300,
                     "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "victim.person@example.com"]),
)
TOKEN_URLS = ["/confirm/{}/", "/preferences/{}/", "/preferences/{}/export/", "/preferences/{}/erase/", "/u/{}/",
              "/u/{}/reason/", "/c/{}/", "/upgrade/{}/", "/signin/{}/", "/checkout/success/?session_id={}"]
HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def assert_safe(response: Any, where: str, sent: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    for name, value in response.items():
        assert "\r" not in value and "\n" not in value, f"{where}: header {name} carries a line break"
        assert name.lower() != "x-injected", where
    body = b"" if getattr(response, "streaming", False) else response.content
    for secret in (VICTIM_EMAIL, VICTIM_NAME):
        # A form may show the sender's own input back to them; anything else of the victim's is a leak.
        if secret not in sent:
            assert secret.encode() not in body, f"{where}: the victim's data"


@pytest.fixture
def people(settings: Any) -> dict[str, Any]:
    settings.SIGNUP_RATE_LIMIT = "100000/h"
    settings.DRIP_KICK_ON_QUEUE = False
    victim = Lead.objects.create(email=VICTIM_EMAIL, first_name=VICTIM_NAME, status=Lead.Status.SUBSCRIBED,
                                 is_customer=True)
    mallory = Lead.objects.create(email="mallory@example.com", first_name="Mallory", status=Lead.Status.PENDING,
                                  is_customer=True)
    row = ScheduledEmail.objects.create(lead=mallory, step="welcome", send_at=victim.created_at)
    # Every kind of genuine token, all of them Mallory's: swapped between URLs, truncated and tampered below.
    own = [confirm_token_make(mallory), tokens.sign("preferences", {"lead": mallory.pk}),
           tokens.sign("unsubscribe", {"lead": mallory.pk}),
           tokens.sign("click", {"row": row.pk, "lead": mallory.pk, "t": "upgrade"}),
           upgrade_token(lead_id=mallory.pk, email_row_id=row.pk), signin_token(mallory),
           tokens.sign("preferences", {"lead": victim.pk})[:-3] + "abc"]  # a forged one for the victim
    return {"victim": victim, "tokens": own}


def victim_unchanged(victim: Lead) -> None:
    now = Lead.objects.get(pk=victim.pk)
    assert (now.email, now.status, now.is_customer, now.unsubscribed_at, now.paused_until) == \
        (VICTIM_EMAIL, Lead.Status.SUBSCRIBED, True, None, None)


@st.composite
def hostile_tokens(draw: Any, genuine: list[str]) -> str:
    token = draw(st.sampled_from(genuine))
    how = draw(st.sampled_from(["swap", "truncate", "tamper", "append", "text"]))
    if how == "truncate":
        return token[:draw(st.integers(0, max(len(token) - 1, 0)))]
    if how == "tamper":
        i = draw(st.integers(0, len(token) - 1))
        return token[:i] + draw(st.sampled_from("AaZz09-_:.")) + token[i + 1:]
    if how == "append":
        return token + draw(nasty_text)
    if how == "text":
        return draw(nasty_text)
    return token


def test_token_urls_never_fail_leak_or_touch_someone_else(people: dict[str, Any], fake_stripe: Any) -> None:
    @HYPOTHESIS
    @given(token=hostile_tokens(people["tokens"]), url=st.sampled_from(TOKEN_URLS))
    def check(token: str, url: str) -> None:
        client = Client()
        path = url.format(quote(token, safe=""))
        assert_safe(client.get(path), f"GET {path[:80]}", token)
        assert_safe(client.post(path, {"action": "unsubscribe", "reason": "other"}), f"POST {path[:80]}", token)
        victim_unchanged(people["victim"])

    check()


_HEADER_LINE = re.compile(rb"^X-Injected:", re.MULTILINE | re.IGNORECASE)


def test_signup_form_never_fails_injects_or_reveals(people: dict[str, Any]) -> None:
    @HYPOTHESIS
    @given(email=st.one_of(nasty_text, st.emails().map(lambda e: e[:300])), first_name=nasty_text,
           fields=st.dictionaries(st.sampled_from(["time_zone", "utm_source", "utm_campaign", "referrer",
                                                   "landing_path", "consent_version", "website"]), nasty_text))
    def check(email: str, first_name: str, fields: dict[str, str]) -> None:
        before = set(Lead.objects.values_list("pk", flat=True))
        response = Client().post("/signup/", {"email": email, "first_name": first_name, "consent": "on",
                                              **fields})
        assert_safe(response, f"signup {email[:40]!r}", " ".join([email, first_name, *fields.values()]))
        if response.status_code == 302:
            assert response["Location"] == "/thanks/"
        victim_unchanged(people["victim"])
        # Whatever was stored is safe to mail: the confirmation renders into headers with no injected line.
        for lead in Lead.objects.exclude(pk__in=before):
            for row in ScheduledEmail.objects.filter(lead=lead):
                raw = build_message(lead, row, render_email(lead, row)).message().as_bytes()
                headers = raw.split(b"\n\n", 1)[0]
                assert not _HEADER_LINE.search(headers), headers[:500]

    check()

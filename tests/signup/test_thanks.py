"""The thank-you page names the addresses our mail really comes from, and repeats the address typed (carried in a
signed cookie, never the URL) with a form to correct it."""

import html
import re
from typing import Any

import pytest
from django.test import Client

from funnel.landing import typed
from leads.models import Lead
from tests.signup.conftest import form_data

pytestmark = pytest.mark.django_db


def _text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def _correction_form(response: Any) -> str:
    match = re.search(r'<details class="correct">.*?</details>', response.content.decode(), re.S)
    assert match, "no correction form"
    return match.group(0)


def test_names_the_from_addresses_that_send(client: Client, settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Pain Reset <daily@reset.example>"
    settings.TRANSACTIONAL_FROM_EMAIL = "Pain Reset <links@reset.example>"
    text = _text(client.post("/signup/", form_data(), follow=True))
    # The confirmation is transactional mail, the welcome and the reminders marketing mail: both, in that order.
    assert ("add links@reset.example (the confirmation link) and daily@reset.example (the welcome and your daily "
            "emails) to your contacts") in text

    settings.TRANSACTIONAL_FROM_EMAIL = settings.DEFAULT_FROM_EMAIL
    assert "add daily@reset.example (the confirmation link and your daily emails) to your contacts" in _text(
        client.get("/thanks/"))


def test_shows_the_address_typed_with_a_form_to_correct_it(client: Client) -> None:
    page = client.post("/signup/", form_data(email="dana@exmaple.com", first_name="Dana", time_zone="Asia/Tokyo",
                                             utm_source="podcast"), follow=True)
    assert "You entered dana@exmaple.com" in _text(page)
    form = _correction_form(page)
    assert 'action="/signup/"' in form and 'value="dana@exmaple.com"' in form and 'value="Dana"' in form
    assert '<option value="Asia/Tokyo" selected>' in form and "data-chosen" in form  # not the browser's guess
    assert 'name="utm_source" value="podcast"' in form
    consent = re.search(r'<input type="checkbox" name="consent"[^>]*>', form)
    assert consent and "checked" not in consent.group(0)  # consent for the new address is asked for again

    corrected = client.post("/signup/", form_data(email="dana@example.com", first_name="Dana",
                                                  time_zone="Asia/Tokyo", utm_source="podcast"), follow=True)
    assert "You entered dana@example.com" in _text(corrected)
    lead = Lead.objects.get(email="dana@example.com")
    assert (lead.time_zone, lead.utm_source, lead.status) == ("Asia/Tokyo", "podcast", Lead.Status.PENDING)


def test_the_url_cannot_make_the_page_say_anything(client: Client) -> None:
    text = _text(client.get("/thanks/?email=attacker%40evil.example&typed=attacker%40evil.example"))
    assert "evil.example" not in text and "You entered" not in text
    assert "Wrong address?" not in text


def test_a_forged_or_stale_cookie_is_ignored(client: Client) -> None:
    from django.core import signing

    client.cookies[typed.COOKIE] = signing.dumps({"email": "forged@evil.example"}, salt="another-salt")
    assert "forged@evil.example" not in _text(client.get("/thanks/"))

    client.post("/signup/", form_data(email="late@example.com"))
    cookie = client.cookies[typed.COOKIE]
    assert cookie["path"] == "/thanks/" and cookie["httponly"] and cookie["max-age"] == typed.MAX_AGE_SECONDS
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typed, "MAX_AGE_SECONDS", -1)  # an hour later: the signature has expired
        assert "late@example.com" not in _text(client.get("/thanks/"))


def test_the_typed_address_is_escaped(client: Client) -> None:
    page = client.post("/signup/", form_data(first_name='<img src=x onerror="alert(1)">'), follow=True)
    assert b"<img src=x" not in page.content

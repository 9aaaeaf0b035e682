"""A script at the signup form gets the page a person gets, and nothing is stored, sent or counted as a lead."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from emails.models import ScheduledEmail
from funnel.models import SignupGuardDay
from leads.bots import form_stamp_make, signup_bot_reason
from leads.models import ConsentRecord, Lead
from tests.bots.conftest import START, dispatch_all, reader_signup
from tests.signup.conftest import form_data, unique_ip

pytestmark = pytest.mark.django_db


def _answer(response: Any, client: Client, typed: str) -> tuple[int, str, bytes]:
    """What the visitor sees: the redirect, then the thank-you page (their own tokens and typed address masked)."""
    page = client.get(response["Location"]).content.replace(typed.encode(), b"TYPED")
    page = re.sub(rb'name="(csrfmiddlewaretoken|form_stamp)" value="[^"]+"', rb'name="\1" value="X"', page)
    return response.status_code, response["Location"], page


def _nothing_stored_for(email: str) -> None:
    assert not Lead.objects.filter(email=email).exists()
    assert not ConsentRecord.objects.filter(lead__email=email).exists()
    assert not ScheduledEmail.objects.filter(lead__email=email).exists()
    dispatch_all()
    assert all(email not in message.to for message in mail.outbox)


def test_a_bot_filling_the_honeypot_gets_the_same_answer_and_nothing_is_stored_or_sent(clock: Any) -> None:
    person, bot = Client(REMOTE_ADDR=unique_ip()), Client(REMOTE_ADDR=unique_ip())
    stamp = form_stamp_make(at=START.timestamp() - 30)
    human = person.post("/signup/", form_data(email="person@example.com", form_stamp=stamp))
    filled = bot.post("/signup/", form_data(email="victim@example.com", form_stamp=stamp,
                                            website="https://cheap-pills.example"))
    assert _answer(filled, bot, "victim@example.com") == _answer(human, person, "person@example.com")
    _nothing_stored_for("victim@example.com")
    assert [m.to for m in mail.outbox] == [["person@example.com"]]
    assert SignupGuardDay.objects.get(date=START.date()).refused == 1


def test_a_form_sent_faster_than_a_person_types_is_a_bots(clock: Any) -> None:
    visitor = Client(REMOTE_ADDR=unique_ip())
    page = visitor.get("/").content.decode()
    stamp = re.search(r'name="form_stamp" value="([^"]+)"', page)
    assert stamp, "the landing page's form carries its render time"
    data = form_data(email="quick@example.com", form_stamp=stamp.group(1))

    clock.shift(timedelta(seconds=0.5))  # a script: posted half a second after the page was rendered
    quick = visitor.post("/signup/", data)
    assert (quick.status_code, quick["Location"]) == (302, "/thanks/")
    _nothing_stored_for("quick@example.com")

    clock.shift(timedelta(seconds=5))  # the same form, sent by someone who took their time
    assert visitor.post("/signup/", data).status_code == 302
    assert Lead.objects.filter(email="quick@example.com").exists()
    assert SignupGuardDay.objects.get(date=START.date()).refused == 1


@pytest.mark.parametrize("stamp", ["", "1700000000.000", form_stamp_make(at=0)[:-1] + "x"])
def test_a_missing_or_forged_stamp_is_a_bots(clock: Any, stamp: str) -> None:
    data = form_data(email="forger@example.com", form_stamp=stamp)
    answer = Client(REMOTE_ADDR=unique_ip()).post("/signup/", data)
    assert (answer.status_code, answer["Location"]) == (302, "/thanks/")
    _nothing_stored_for("forger@example.com")


def test_the_check_takes_plain_values_for_other_channels(clock: Any) -> None:
    """What POST /api/v1/signups and the embeddable form call: the honeypot as posted, and the stamp (None when
    the channel renders no form)."""
    now = START.timestamp()
    assert signup_bot_reason(honeypot="", stamp=None) == ""
    assert signup_bot_reason(honeypot="http://x.example", stamp=None) == "honeypot"
    assert signup_bot_reason(honeypot=None, stamp=form_stamp_make(at=now - 1)) == "too-fast"
    assert signup_bot_reason(honeypot=None, stamp=form_stamp_make(at=now - 3)) == ""
    assert signup_bot_reason(honeypot=None, stamp="") == "no-stamp"
    assert signup_bot_reason(honeypot=None, stamp="12:forged") == "bad-stamp"


def test_a_person_who_took_their_time_signs_up_as_before(clock: Any) -> None:
    assert reader_signup("calm@example.com").status_code == 302
    dispatch_all()
    assert [m.to for m in mail.outbox] == [["calm@example.com"]]
    assert not SignupGuardDay.objects.exists()

"""What the emails promise matches what happens, and they read well for a reader who gave no name."""

import html as html_lib
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils.html import strip_tags

from emails.dispatch import dispatch_batch
from emails.first_reminder import zone_label
from emails.models import ScheduledEmail
from funnel.landing.services import confirm_reminders_queue, signup_confirm, signup_submit
from leads.models import Lead

from .conftest import sent_to
from .emails_all import all_steps, render_step

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def visible_text(html: str) -> str:
    """The words a reader sees in the HTML part (the hidden preheader and the head left out)."""
    body = html[html.index("<body"):]
    body = re.sub(r'<div class="preheader"[^>]*>.*?</div>', "", body, count=1, flags=re.S)
    return " ".join(html_lib.unescape(strip_tags(body)).split())


@pytest.mark.parametrize(("confirmed_at", "day_one", "words"), [
    # 21:00 on a Tuesday: Wednesday 8:00 is only 11 hours away, so day 1 is Thursday's, 35 hours later.
    (datetime(2026, 3, 3, 21, 0, tzinfo=BERLIN), datetime(2026, 3, 5, 8, 0, tzinfo=BERLIN),
     "Thursday, March 5, at 8 a.m. (Berlin time)"),
    (datetime(2026, 3, 3, 7, 0, tzinfo=BERLIN), datetime(2026, 3, 4, 8, 0, tzinfo=BERLIN),
     "Wednesday, March 4, at 8 a.m. (Berlin time)"),
])
def test_the_welcome_states_the_real_day_and_hour_of_the_first_reminder(clock: Any, confirmed_at: datetime,
                                                                        day_one: datetime, words: str) -> None:
    clock(confirmed_at - timedelta(minutes=5))
    signup_submit(email="late@example.com", first_name="", time_zone="Europe/Berlin", ip_address="192.0.2.1",
                  user_agent="test")
    lead = Lead.objects.get(email="late@example.com")
    clock(confirmed_at)
    signup_confirm(lead=lead, ip_address="192.0.2.1", user_agent="test")
    dispatch_batch()

    welcome = next(m for m in sent_to(lead) if m.tags == ["welcome"])
    for part in (welcome.body, visible_text(welcome.alternatives[0][0])):
        assert f"Your first daily email arrives on {words}." in part
        assert "tomorrow" not in part.lower()
    # ... and that is when the dispatcher really sends it.
    assert ScheduledEmail.objects.get(lead=lead, step="day-1").send_at == day_one


def test_the_confirmation_email_promises_what_happens_without_a_click(clock: Any, settings: Any) -> None:
    settings.FUNNEL_DOUBLE_OPT_IN = True
    start = clock(datetime(2026, 3, 3, 10, 0, tzinfo=BERLIN))
    signup_submit(email="stranger@example.com", first_name="", time_zone="Europe/Berlin", ip_address="192.0.2.2",
                  user_agent="test")
    lead = Lead.objects.get(email="stranger@example.com")
    dispatch_batch()
    (confirmation,) = sent_to(lead)
    promise = "Without a click we send at most one short reminder, a day from now, and nothing after it"
    assert promise in confirmation.body and promise in visible_text(confirmation.alternatives[0][0])

    for _day in range(5):  # housekeeping runs on; nobody clicks
        start.advance(timedelta(hours=25))
        confirm_reminders_queue()
        dispatch_batch()
    steps = [m.tags[0] for m in sent_to(lead)]
    assert steps == ["confirm", "confirm-reminder"]
    assert "This is the only reminder we send." in sent_to(lead)[1].body


AWKWARD = [
    (re.compile(r"(\b(hi|hello|hey|dear|welcome|morning)\b,?|,)\s+there\b", re.I), "a stand-in name"),
    (re.compile(r"\s[,.!?:;]"), "a space before punctuation (an empty name)"),
    (re.compile(r"[,:]\s*[,.!?:;]"), "punctuation doubled around an empty name"),
    (re.compile(r"\b(Hi|Hello|Welcome|morning)\s*$", re.M), "a greeting without its ending"),
]


@pytest.mark.parametrize("step", all_steps())
def test_subjects_and_greetings_read_well_without_a_name(step: str, make_lead: Any) -> None:
    nameless = render_step(make_lead(first_name=""), step)
    named = render_step(make_lead(first_name="Ana"), step)
    for where, part in (("subject", nameless.subject), ("text", nameless.text),
                        ("html", visible_text(nameless.html))):
        for pattern, meaning in AWKWARD:
            found = pattern.search(part)
            assert found is None, f"{step} {where}: {meaning}: …{part[max(0, found.start() - 40):found.end() + 20]}…"
    # Where the named version greets the reader, the nameless one still reads as a sentence (or a heading, which
    # ends without a stop): it starts with a capital and does not end on the comma that led to the name.
    greeting = next((line for line in named.text.splitlines() if "Ana" in line), None)
    if greeting is not None:
        opening = greeting.split()[0]
        line = next((line for line in nameless.text.splitlines() if line.startswith(opening)), "")
        assert not line or (line[:1].isupper() and not line.rstrip().endswith(",")), (step, line)


def test_the_welcome_subject_greets_by_name_or_not_at_all(make_lead: Any) -> None:
    assert render_step(make_lead(first_name="Ana"), "welcome").subject.startswith("Welcome, Ana: your quick")
    assert render_step(make_lead(first_name=""), "welcome").subject.startswith("Welcome: your quick reference")


@pytest.mark.parametrize(("zone", "label"), [("Europe/Berlin", "Berlin time"), ("America/New_York", "New York time"),
                                             ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
                                             ("UTC", "UTC"), ("Etc/GMT+5", "GMT+5")])
def test_the_welcome_names_the_readers_zone_so_a_wrong_one_is_noticed(zone: str, label: str) -> None:
    assert zone_label(zone) == label

"""After the week: the follow-up for readers who finished day 7 without buying, sent by the real dispatcher, with the
enrolment task run as beat runs it and the clock moved by time-machine."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from emails.content.timing import sequence_timing_forget
from emails.follow_up import follow_up_enrol_due
from emails.models import FOLLOW_UP_STEPS, SEQUENCE_STEPS, ScheduledEmail
from emails.services import sequence_enrol
from leads.models import Lead
from leads.services import lead_make_customer, lead_pause, lead_unsubscribe

from .conftest import rows, run_dispatcher, sent_to, walk

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # day 1 on 6 March, day 7 on 12 March (New York)
NEW_YORK = ZoneInfo("America/New_York")
NOTICE = "not medical advice"


@pytest.fixture(autouse=True)
def _fresh_timing() -> Any:
    sequence_timing_forget()
    yield
    sequence_timing_forget()


def steps_sent(lead: Lead) -> list[str]:
    return [m.tags[0] for m in sent_to(lead)]


def beat(on_tick: Any = None) -> Any:
    """What beat does each tick besides dispatching: enrol finished readers in the follow-up."""
    def tick(now: datetime) -> None:
        if on_tick:
            on_tick(now)
        follow_up_enrol_due()
    return tick


def test_a_reader_who_finishes_the_week_without_buying_gets_the_follow_up_at_their_morning(  # type: ignore[no-untyped-def]
        clock, make_lead) -> None:
    c = clock(START)
    reader, berliner = make_lead(), make_lead(time_zone="Europe/Berlin")
    for lead in (reader, berliner):
        sequence_enrol(lead=lead)
    run_dispatcher()

    walk(c, until=START + timedelta(days=18), step=timedelta(hours=1), on_tick=beat())

    for lead, zone in ((reader, NEW_YORK), (berliner, ZoneInfo("Europe/Berlin"))):
        assert steps_sent(lead) == [*SEQUENCE_STEPS, *FOLLOW_UP_STEPS]
        schedule = rows(lead)
        day_seven = schedule["day-7"].sent_at.astimezone(zone).date()  # type: ignore[union-attr]
        local = [schedule[step].sent_at.astimezone(zone) for step in FOLLOW_UP_STEPS]  # type: ignore[union-attr]
        # Defaults: two days after day 7, then every three days, at the sequence's 08:00 on the reader's clock.
        assert [(t.date() - day_seven).days for t in local] == [2, 5, 8]
        assert {(t.hour, t.minute) for t in local} == {(8, 0)}
    messages = {m.tags[0]: m for m in sent_to(reader)}
    for step in FOLLOW_UP_STEPS:
        text, html = messages[step].body, messages[step].alternatives[0][0]
        assert NOTICE in text and NOTICE in html  # the layout's notice and footer, as on every marketing email
        assert "unsubscribe" in text.lower() and messages[step].extra_headers["List-Unsubscribe"]
        assert "$9.97" in text
    assert messages["follow-up-1"].subject == "The week is done. Here is what the next three weeks are for"
    # Running the enrolment again adds nothing: one row per (lead, step).
    assert follow_up_enrol_due() == 0
    assert ScheduledEmail.objects.filter(lead=reader, step__in=FOLLOW_UP_STEPS).count() == 3


def test_a_reader_who_buys_on_day_9_gets_none_of_it_and_stops_at_unsubscribe_or_pause(  # type: ignore[no-untyped-def]
        clock, make_lead) -> None:
    c = clock(START)
    buyer, unsubscriber, pauser, week_buyer, control = (make_lead() for _ in range(5))
    for lead in (buyer, unsubscriber, pauser, week_buyer, control):
        sequence_enrol(lead=lead)
    run_dispatcher()
    day_nine = datetime(2026, 3, 14, 3, 0, tzinfo=NEW_YORK)  # early on day 9, before the first follow-up at 08:00

    def on_tick(now: datetime) -> None:
        if now == START + timedelta(days=3):
            lead_make_customer(lead=week_buyer)  # bought during the week: never enrolled
        if now == day_nine:
            # By day 9 everyone who finished without buying has their follow-up rows waiting.
            assert ScheduledEmail.objects.filter(lead=buyer, step__in=FOLLOW_UP_STEPS).count() == 3
            lead_make_customer(lead=buyer)
            lead_unsubscribe(lead=unsubscriber)
            lead_pause(lead=pauser, days=30)

    walk(c, until=START + timedelta(days=18), step=timedelta(hours=1), on_tick=beat(on_tick))

    assert steps_sent(control) == [*SEQUENCE_STEPS, *FOLLOW_UP_STEPS]
    for lead, reason in ((buyer, "bought"), (unsubscriber, "unsubscribed"), (pauser, "paused")):
        assert steps_sent(lead) == SEQUENCE_STEPS, reason
        skipped = [rows(lead)[step] for step in FOLLOW_UP_STEPS]
        assert {(r.status, r.skip_reason) for r in skipped} == {(ScheduledEmail.Status.SKIPPED, reason)}
    assert steps_sent(week_buyer) == SEQUENCE_STEPS
    assert not ScheduledEmail.objects.filter(lead=week_buyer, step__in=FOLLOW_UP_STEPS).exists()


def test_the_follow_up_spacing_is_set_in_the_admin(make_lead: Any, clock: Any) -> None:
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    staff = Client()
    staff.login(username="ops", password="pw")
    response = staff.post("/admin/emails/sequencesettings/1/change/", {
        "send_hour": "9", "days_between_steps": "1", "follow_up_after_days": "1", "follow_up_days_between": "7"})
    assert response.status_code == 302
    lead = make_lead()
    day_seven_at = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # 08:00 in New York
    ScheduledEmail.objects.create(lead=lead, step="day-7", send_at=day_seven_at, sent_at=day_seven_at,
                                  status=ScheduledEmail.Status.SENT)
    clock(day_seven_at + timedelta(hours=1))
    assert follow_up_enrol_due() == 1
    local = [rows(lead)[step].send_at.astimezone(NEW_YORK) for step in FOLLOW_UP_STEPS]
    assert [(t.day, t.hour) for t in local] == [(13, 9), (20, 9), (27, 9)]


def test_a_week_that_ended_long_ago_is_not_followed_up(make_lead: Any, clock: Any) -> None:
    lead = make_lead()
    long_ago = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    ScheduledEmail.objects.create(lead=lead, step="day-7", send_at=long_ago, sent_at=long_ago,
                                  status=ScheduledEmail.Status.SENT)
    clock(long_ago + timedelta(days=30))
    assert follow_up_enrol_due() == 0

"""The sequence's timing set in the admin: new rows take it, rows already scheduled keep their time."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from emails.content.models import SequenceSettings
from emails.content.timing import sequence_timing, sequence_timing_forget
from emails.models import ScheduledEmail
from emails.schedule import mornings_from, sequence_send_times
from emails.services import sequence_enrol, sequence_reschedule
from leads.models import Lead
from leads.time_zones import send_time_text

pytestmark = pytest.mark.django_db

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
REMINDERS = [f"day-{n}" for n in range(1, 8)]
PAGE = "/admin/emails/sequencesettings/1/change/"


@pytest.fixture(autouse=True)
def _fresh_timing() -> Iterator[None]:
    # The timing is cached per process; a test's rolled-back row must not leak into the next test.
    sequence_timing_forget()
    yield
    sequence_timing_forget()


@pytest.fixture
def staff() -> Client:
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    client = Client()
    client.login(username="ops", password="pw")
    return client


def _save(client: Client, send_hour: str = "", days: str = "1", follow_up_after: str = "2",
          follow_up_between: str = "3") -> Any:
    return client.post(PAGE, {"send_hour": send_hour, "days_between_steps": days,
                              "follow_up_after_days": follow_up_after, "follow_up_days_between": follow_up_between})


def _local(lead: Lead, zone: ZoneInfo) -> dict[str, datetime]:
    return {row.step: row.send_at.astimezone(zone) for row in ScheduledEmail.objects.filter(lead=lead)}


def test_a_saved_send_hour_applies_to_new_signups_and_not_to_rows_already_scheduled(
        make_lead: Any, staff: Client) -> None:
    earlier, later = make_lead(time_zone="America/New_York"), make_lead(time_zone="Europe/Berlin")
    # Thursday 5 March 2026, 10:00 in New York; New York's clocks go forward on Sunday 8 March.
    with time_machine.travel(datetime(2026, 3, 5, 15, tzinfo=UTC), tick=False):
        sequence_enrol(lead=earlier)
        answer = _save(staff, send_hour="10")
        assert answer.status_code == 302, answer.content.decode()
        sequence_enrol(lead=later)

    before = _local(earlier, NEW_YORK)
    assert [(before[s].hour, before[s].minute) for s in REMINDERS] == [(8, 0)] * 7  # kept, across the DST change
    assert [before[s].day for s in REMINDERS] == [6, 7, 8, 9, 10, 11, 12]
    after = _local(later, BERLIN)
    assert after["day-1"] == datetime(2026, 3, 6, 10, tzinfo=BERLIN)
    assert [(after[s].hour, after[s].minute) for s in REMINDERS] == [(10, 0)] * 7


def test_two_days_between_steps_spaces_reminders_two_local_days_apart_across_dst(
        make_lead: Any, staff: Client) -> None:
    lead = make_lead(time_zone="America/New_York")
    _save(staff, send_hour="", days="2")
    with time_machine.travel(datetime(2026, 3, 5, 15, tzinfo=UTC), tick=False):
        sequence_enrol(lead=lead)
    local = _local(lead, NEW_YORK)
    assert [local[s].date() for s in REMINDERS] == [date(2026, 3, day) for day in (6, 8, 10, 12, 14, 16, 18)]
    assert [(local[s].hour, local[s].minute) for s in REMINDERS] == [(8, 0)] * 7  # DRIP_SEND_HOUR, EST and EDT
    assert local["day-2"] - local["day-1"] == timedelta(days=2)  # local wall-clock days...
    utc_gap = ScheduledEmail.objects.get(lead=lead, step="day-2").send_at - ScheduledEmail.objects.get(
        lead=lead, step="day-1").send_at
    assert utc_gap == timedelta(hours=47)  # ...which are 47 real hours over the spring change


def test_the_compressed_development_week_takes_the_pause_too() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    times = sequence_send_times(welcome_at=start, time_zone="UTC", hour=8, days_between=3, day_seconds=60)
    assert [times[s] - start for s in REMINDERS] == [timedelta(minutes=n) for n in (1, 4, 7, 10, 13, 16, 19)]


def test_a_time_zone_change_moves_unsent_rows_to_the_current_hour_and_pace(make_lead: Any, staff: Client) -> None:
    lead = make_lead(time_zone="America/New_York")
    with time_machine.travel(datetime(2026, 11, 30, 9, tzinfo=UTC), tick=False):
        sequence_enrol(lead=lead)
        _save(staff, send_hour="7", days="1")
        Lead.objects.filter(pk=lead.pk).update(time_zone="Europe/Berlin")
        lead.refresh_from_db()
        assert sequence_reschedule(lead=lead, previous_zone="America/New_York") == 7
    local = _local(lead, BERLIN)
    assert [local[s] for s in REMINDERS] == [datetime(2026, 12, day, 7, tzinfo=BERLIN) for day in range(1, 8)]


def test_a_paused_readers_week_resumes_at_the_current_pace(staff: Client) -> None:
    _save(staff, send_hour="9", days="2")
    resumed = mornings_from(datetime(2026, 10, 23, 12, tzinfo=UTC), time_zone="Europe/Berlin", count=3,
                            day_seconds=86400)
    # Europe leaves summer time on 25 Oct 2026: still 9:00 on the wall clock.
    assert [t.astimezone(BERLIN) for t in resumed] == [datetime(2026, 10, day, 9, tzinfo=BERLIN)
                                                        for day in (24, 26, 28)]


def test_enrolment_reads_the_setting_once_not_once_per_lead(make_lead: Any, staff: Client) -> None:
    _save(staff, send_hour="10", days="1")
    leads = [make_lead() for _ in range(5)]
    sequence_timing()  # the save emptied the cache; the first reader after it pays one query
    with CaptureQueriesContext(connection) as queries:
        for lead in leads:
            sequence_enrol(lead=lead)
    assert not [q for q in queries.captured_queries if "emails_sequencesettings" in q["sql"]]
    assert {row.send_at.astimezone(NEW_YORK).hour for row in ScheduledEmail.objects.filter(step="day-1")} == {10}


def test_the_page_shows_defaults_before_the_first_save_and_records_who_and_when(staff: Client) -> None:
    assert staff.get("/admin/emails/sequencesettings/")["Location"] == PAGE  # no list: the one page
    page = staff.get(PAGE).content.decode()
    assert "Leave empty for the default, 8 (DRIP_SEND_HOUR)" in page
    assert not SequenceSettings.objects.exists()  # looking writes nothing

    with time_machine.travel(datetime(2026, 5, 4, 9, 30, tzinfo=UTC), tick=False):
        assert _save(staff, send_hour="10", days="2").status_code == 302
    row = SequenceSettings.objects.get()
    assert (row.pk, row.send_hour, row.days_between_steps) == (1, 10, 2)
    assert row.updated_by == User.objects.get(username="ops")
    assert row.updated_at == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    assert LogEntry.objects.get().user_id == row.updated_by.pk  # and in the page's history
    assert 'value="10"' in staff.get(PAGE).content.decode()
    assert send_time_text() == "10 a.m."  # the preferences and signup pages say the new hour

    page = staff.get(PAGE).content.decode()
    assert 'name="_addanother"' not in page and "deletelink" not in page
    assert staff.get("/admin/emails/sequencesettings/add/").status_code == 403
    assert staff.post("/admin/emails/sequencesettings/1/delete/", {"post": "yes"}).status_code == 403
    assert staff.get("/admin/emails/sequencesettings/2/change/").status_code == 302  # no second row


@pytest.mark.parametrize(("send_hour", "days", "field", "message"), [
    ("24", "1", "send_hour", "Enter an hour from 0 to 23 (0 is midnight, 13 is 1 p.m.)."),
    ("-1", "1", "send_hour", "Enter an hour from 0 to 23 (0 is midnight, 13 is 1 p.m.)."),
    ("8.5", "1", "send_hour", "Enter the hour as a whole number from 0 to 23."),
    ("8", "0", "days_between_steps", "Enter a number of days from 1 to 14 (1 sends a reminder every day)."),
    ("8", "15", "days_between_steps", "Enter a number of days from 1 to 14 (1 sends a reminder every day)."),
    ("8", "", "days_between_steps", "Enter a number of days from 1 to 14 (1 sends a reminder every day)."),
])
def test_out_of_range_values_are_refused_with_a_message_by_the_field(
        staff: Client, send_hour: str, days: str, field: str, message: str) -> None:
    answer = _save(staff, send_hour=send_hour, days=days)
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert errors == {field: [message]}
    # Shown next to its field, the typed value kept for correcting.
    page = answer.content.decode()
    assert re.search(rf'field-{field}.*?{re.escape(message)}', page, re.S)
    assert not SequenceSettings.objects.exists()


def test_the_marketing_group_can_view_the_timing_but_not_change_it(staff: Client) -> None:
    _save(staff, send_hour="10", days="1")
    call_command("setup_marketing_group", stdout=io.StringIO())
    marketer = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    marketer.groups.add(Group.objects.get(name="marketing"))
    browser = Client()
    browser.force_login(marketer)

    page = browser.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="send_hour"' not in text and 'name="_save"' not in text  # read-only
    assert "10" in text
    assert browser.post(PAGE, {"send_hour": "6", "days_between_steps": "3"}).status_code == 403
    assert SequenceSettings.objects.values_list("send_hour", "days_between_steps").get() == (10, 1)
    assert reverse("admin:emails_sequencesettings_change", args=[1]) == PAGE

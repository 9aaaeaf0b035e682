"""The daily reminder for a buyer talks about yesterday's logged session, rendered at send time."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from emails.models import ScheduledEmail
from emails.rendering import render_email
from funnel.models import PracticeSession
from funnel.practice.email_context import practice_email_context
from leads.models import Lead
from tests.guide.helpers import make_lead

pytestmark = pytest.mark.django_db

# 08:00 in New York on Wednesday 25 November.
SEND_TIME = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def _row(lead: Lead, step: str = "day-3") -> ScheduledEmail:
    return ScheduledEmail.objects.create(lead=lead, step=step, send_at=SEND_TIME)


def _log(lead: Lead, day: date, before: int, after: int) -> None:
    PracticeSession.objects.create(lead=lead, local_date=day, areas=["low-back", "hips"],
                                   pain_before=before, pain_after=after)


@time_machine.travel(SEND_TIME, tick=False)
def test_reminder_text_changes_with_the_log() -> None:
    lead = make_lead(buyer=True, time_zone="America/New_York")
    row = _row(lead)

    never = render_email(lead, row).text
    assert "open the app: it times every hold" in never

    _log(lead, date(2026, 11, 23), 7, 5)
    missed = render_email(lead, row)
    assert "No session logged yesterday, and that's fine" in missed.text
    assert "No session logged yesterday" in missed.html

    _log(lead, date(2026, 11, 24), 6, 3)
    logged = render_email(lead, row)
    expected = ("Yesterday's session on your low back and hips took your pain from 6 to 3. "
                "That makes a 2-day streak.")
    assert logged.text.count(expected) == 1
    assert "took your pain from 6 to 3" in logged.html
    # For a buyer the call to action opens the app, never the upgrade.
    assert "Open today's session" in logged.text and "$9.97" not in logged.text


@time_machine.travel(SEND_TIME, tick=False)
def test_provider_output_is_self_describing() -> None:
    lead = make_lead(buyer=True, time_zone="America/New_York")
    _log(lead, date(2026, 11, 24), 4, 4)
    practice = practice_email_context(lead, _row(lead))["practice"]
    assert practice["logged"] is True
    assert (practice["pain_before"], practice["pain_after"], practice["streak"]) == (4, 4, 1)
    assert "left your pain at 4" in practice["message"] and "day one of a new streak" in practice["message"]

    worse = make_lead(buyer=True, time_zone="America/New_York")
    _log(worse, date(2026, 11, 24), 3, 5)
    assert "check with your doctor" in practice_email_context(worse, _row(worse))["practice"]["message"]


@time_machine.travel(SEND_TIME, tick=False)
def test_free_readers_get_no_practice_paragraph() -> None:
    lead = make_lead(time_zone="America/New_York")
    row = _row(lead)
    assert practice_email_context(lead, row) == {}
    text = render_email(lead, row).text
    assert "Yesterday" not in text and "open the app" not in text


@time_machine.travel(SEND_TIME, tick=False)
def test_only_the_daily_reminders_carry_it() -> None:
    lead = make_lead(buyer=True, time_zone="America/New_York")
    _log(lead, date(2026, 11, 24), 6, 3)
    assert "took your pain from 6 to 3" in render_email(lead, _row(lead, "day-7")).text
    assert "took your pain from 6 to 3" not in render_email(lead, _row(lead, "welcome")).text


@time_machine.travel(SEND_TIME, tick=False)
def test_the_practice_summary_costs_one_query_per_buyer(django_assert_num_queries: Any) -> None:
    # It runs for every buyer row in every dispatch batch: one query, whatever the log holds.
    lead = make_lead(buyer=True, time_zone="America/New_York")
    row = _row(lead)
    for day in (date(2026, 11, 21), date(2026, 11, 23), date(2026, 11, 24)):
        _log(lead, day, 6, 3)
    with django_assert_num_queries(1):
        context = practice_email_context(lead, row)
    assert context["practice"]["logged"] is True and context["practice"]["streak"] == 2

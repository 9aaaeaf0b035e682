"""Streak, plan progress, pain series and chart geometry from the practice log."""

from datetime import UTC, date, datetime, timedelta

import pytest

from funnel.models import PracticeSession
from funnel.practice import selectors
from funnel.practice.chart import pain_chart
from funnel.practice.services import practice_log
from leads.models import Lead
from tests.guide.helpers import make_lead

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 24)


def _log(lead: Lead, day: date, before: int | None = 6, after: int | None = 4, areas: list[str] | None = None) -> None:
    PracticeSession.objects.create(lead=lead, local_date=day, areas=areas or ["neck"], pain_before=before,
                                   pain_after=after)


def test_streak_counts_consecutive_days_and_survives_until_today_ends() -> None:
    lead = make_lead(buyer=True)
    assert selectors.practice_streak(lead, today=TODAY) == 0
    for back in (1, 2, 3, 5):  # a gap four days ago
        _log(lead, TODAY - timedelta(days=back))
    # Nothing yet today: the streak from yesterday still stands.
    assert selectors.practice_streak(lead, today=TODAY) == 3
    _log(lead, TODAY)
    _log(lead, TODAY)  # two sessions on one day count once
    assert selectors.practice_streak(lead, today=TODAY) == 4
    # Two days later without a session, it is gone.
    assert selectors.practice_streak(lead, today=TODAY + timedelta(days=2)) == 0


def test_plan_moves_one_day_per_day_practised_and_never_skips_an_area() -> None:
    lead = make_lead(buyer=True)
    progress = selectors.practice_plan_progress(lead, today=TODAY)
    assert (progress.days_done, progress.done_today, progress.today.number) == (0, False, 1)
    _log(lead, TODAY - timedelta(days=5))
    _log(lead, TODAY - timedelta(days=1))  # missed days in between
    progress = selectors.practice_plan_progress(lead, today=TODAY)
    assert (progress.days_done, progress.today.number, progress.today.area_slug) == (2, 3, "glutes")
    _log(lead, TODAY)
    progress = selectors.practice_plan_progress(lead, today=TODAY)
    assert (progress.days_done, progress.done_today, progress.today.number) == (3, True, 3)
    assert [status.done for status in progress.days] == [True, True, True, False, False, False, False]
    for back in range(6, 12):
        _log(lead, TODAY - timedelta(days=back))
    progress = selectors.practice_plan_progress(lead, today=TODAY)
    assert progress.days_done == 7 and progress.finished


def test_local_date_follows_the_leads_time_zone() -> None:
    tokyo = make_lead(buyer=True, time_zone="Asia/Tokyo")
    broken = make_lead(buyer=True, time_zone="Not/AZone")
    moment = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # already the 25th in Tokyo
    assert selectors.lead_today(tokyo, now=moment) == date(2026, 11, 25)
    assert selectors.lead_today(broken, now=moment) == date(2026, 11, 24)
    session = practice_log(lead=tokyo, areas=["neck"], spots_done=[], stretches_done=[], heat_seconds=0,
                           pain_before=5, pain_after=4, now=moment)
    assert session.local_date == date(2026, 11, 25) and session.steps_done == []


def test_practice_log_refuses_unknown_areas() -> None:
    with pytest.raises(ValueError):
        practice_log(lead=make_lead(buyer=True), areas=["elbow"], spots_done=[], stretches_done=[],
                     heat_seconds=0, pain_before=1, pain_after=1)


def test_pain_series_averages_a_day_and_leaves_gaps_empty() -> None:
    lead = make_lead(buyer=True)
    _log(lead, TODAY, before=6, after=4)
    _log(lead, TODAY, before=5, after=2)
    _log(lead, TODAY - timedelta(days=2), before=7, after=None)
    _log(lead, TODAY - timedelta(days=40))  # outside the window
    series = selectors.practice_pain_series(lead, today=TODAY, days=7)
    assert [d.day for d in series][0] == TODAY - timedelta(days=6) and series[-1].day == TODAY
    assert (series[-1].before, series[-1].after) == (5.5, 3.0)
    assert (series[-3].before, series[-3].after) == (7.0, None)
    assert sum(d.logged for d in series) == 2

    chart = pain_chart(series, title="t")
    before, after = chart.series
    assert [p.value for p in before.points] == [7.0, 5.5]
    assert len(before.segments) == 2  # the empty day between breaks the line rather than inventing a value
    assert [p.value for p in after.points] == [3.0]
    assert after.points[0].y > before.points[1].y  # lower pain is drawn lower
    assert "2 of 7 days logged" in chart.desc and "average after 3.0" in chart.desc
    assert [label for _, label in chart.x_labels][-1] == "Tue"


def test_thirty_day_chart_labels_weekly_and_handles_no_data() -> None:
    lead = make_lead(buyer=True)
    chart = pain_chart(selectors.practice_pain_series(lead, today=TODAY, days=30), title="t")
    assert [label for _, label in chart.x_labels] == ["27 Oct", "3 Nov", "10 Nov", "17 Nov", "24 Nov"]
    assert chart.logged_days == 0 and "No sessions logged" in chart.desc

"""The daily rollup gives exactly the live figures: on the hand-built world, on recent days up to today's partial
day, after late events, and whatever the filters."""

import io
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery import app
from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard import figures, selectors, services, tasks
from funnel.dashboard.selectors import DashboardFilters
from funnel.models import EmailDayCount, RollupDay, SignupDayCount
from tests.dashboard.conftest import START, World, make_email, make_lead, make_purchase

pytestmark = pytest.mark.django_db


def snapshot(filters: DashboardFilters) -> dict[str, Any]:
    """Every figure of the dashboard, comparable (the per-source rows sorted: their order is the sort's job)."""
    result = figures.compute(filters)
    return {
        "summary": asdict(result.summary),
        "sources": sorted((asdict(row) for row in result.sources), key=lambda row: sorted(row.items())),
        "emails": [asdict(row) for row in result.emails],
        "daily": [asdict(row) for row in result.daily],
        "cohorts": [asdict(row) for row in result.cohorts],
    }


def live_snapshot(filters: DashboardFilters) -> dict[str, Any]:
    """The same figures with no day summed up: everything counted from the source tables."""
    built = list(RollupDay.objects.values_list("day", "built_at"))
    RollupDay.objects.all().delete()
    try:
        return snapshot(filters)
    finally:
        RollupDay.objects.bulk_create([RollupDay(day=day, built_at=built_at) for day, built_at in built])


def filter_sets(start: date, end: date) -> list[DashboardFilters]:
    whole = DashboardFilters(start=start, end=end)
    return [
        whole,
        replace(whole, utm_source="google"),
        replace(whole, utm_source="fb", utm_campaign="spring"),
        replace(whole, utm_medium="cpc"),
        replace(whole, start=end, end=end),  # one day
        replace(whole, start=start - timedelta(days=14)),  # a range reaching before the data
    ]


def test_rollup_of_the_hand_built_world_gives_the_live_figures(world: World) -> None:
    live = {f: snapshot(f) for f in filter_sets(START, START + timedelta(days=7))}
    assert not RollupDay.objects.exists()

    built = services.rollup_rebuild(days=[START + timedelta(days=n) for n in range(-21, 14)])

    assert built == 35
    assert EmailDayCount.objects.exists() and SignupDayCount.objects.exists()
    for f, expected in live.items():
        assert snapshot(f) == expected, f


def test_the_dashboard_reads_the_built_days_from_the_rollup(world: World) -> None:
    services.rollup_rebuild(days=[START + timedelta(days=n) for n in range(-14, 14)])
    before = selectors.per_email(world.filters)[0]
    funnel_before = selectors.funnel_summary(world.filters).step("welcome_opened").count

    # Tamper with the summary rows of 2 March: the figures follow them, so they were read (not the event tables).
    EmailDayCount.objects.filter(day=START, step="welcome").update(opened=100)
    SignupDayCount.objects.filter(day=START).update(welcome_opened=50)

    assert selectors.per_email(world.filters)[0].opened == 100 + before.opened - 1  # L1's welcome, opened, on 2 March
    assert selectors.funnel_summary(world.filters).step("welcome_opened").count == 50 + funnel_before - 1


def test_rebuilding_is_idempotent(world: World) -> None:
    days = [START + timedelta(days=n) for n in range(-7, 8)]
    services.rollup_rebuild(days=days)
    first = list(EmailDayCount.objects.order_by("day", "step", "utm_source").values())
    services.rollup_rebuild(days=days)
    second = list(EmailDayCount.objects.order_by("day", "step", "utm_source").values())
    assert [{k: v for k, v in row.items() if k != "id"} for row in first] == \
           [{k: v for k, v in row.items() if k != "id"} for row in second]
    assert RollupDay.objects.count() == len(days)


# The tests built around today hold the clock (held_clock): one that ran across midnight UTC would find its "today"
# summed up as a closed day by a refresh that already lives in tomorrow.
def recent_world(today: date) -> dict[str, Any]:
    """Leads and mail over the last 10 days, today's partial day included (times before now)."""
    now = timezone.now()

    def day(n: int, hour: int) -> datetime:
        """n days ago at `hour`; today, a moment of the part of the day already gone (in `hour` order)."""
        start = datetime.combine(today - timedelta(days=n), time.min, tzinfo=UTC)
        if n == 0:
            return start + (now - start) * (hour + 1) / 5
        return start + timedelta(hours=hour)

    old = make_lead("Old", "fb", "spring", day(9, 8))
    old_welcome = make_email(old, "welcome", day(9, 9), events=("delivered", "opened"))
    old_day1 = make_email(old, "day-1", day(8, 9), events=("delivered",))
    Click.objects.create(lead=old, scheduled_email=old_welcome, target="upgrade", created_at=day(8, 12))
    make_purchase(old, day(7, 10), old_welcome)

    mid = make_lead("Mid", "google", "brand", day(4, 7))
    mid_welcome = make_email(mid, "welcome", day(4, 8), events=("delivered", "bounced"))
    mid_day1 = make_email(mid, "day-1", day(3, 8), events=("delivered", "opened", "opened"))
    Click.objects.create(lead=mid, scheduled_email=mid_day1, target="free_guide", created_at=day(3, 9))

    # Signed up late in the evening, welcome sent after midnight: its signup day and sent day differ.
    slow = make_lead("Slow", "fb", "summer", day(6, 23))
    slow_welcome = make_email(slow, "welcome", day(5, 1), events=("delivered",))

    yesterday = make_lead("Yesterday", "fb", "spring", day(1, 6))
    make_email(yesterday, "welcome", day(1, 7), events=("delivered", "opened", "complained"))

    first = make_lead("Today", "google", "brand", day(0, 0))
    today_welcome = make_email(first, "welcome", day(0, 1), events=("delivered", "opened"))
    Click.objects.create(lead=first, scheduled_email=today_welcome, target="upgrade", created_at=day(0, 2))
    make_purchase(first, day(0, 3), today_welcome)
    return {"old_day1": old_day1, "mid_welcome": mid_welcome, "slow_welcome": slow_welcome}


def test_rollup_plus_live_open_days_equals_live_up_to_todays_partial_day(held_clock: datetime) -> None:
    today = held_clock.date()
    recent_world(today)
    live = {f: snapshot(f) for f in filter_sets(today - timedelta(days=9), today)}

    services.rollup_refresh()  # today, yesterday, the day before, and the days of every new event and click
    services.rollup_rebuild(days=[today - timedelta(days=n) for n in range(30)])

    rolled = selectors.rolled_days(today - timedelta(days=9), today)
    assert today - timedelta(days=9) in rolled and today - timedelta(days=2) in rolled
    assert today not in rolled and today - timedelta(days=1) not in rolled  # still counted live
    for f, expected in live.items():
        assert snapshot(f) == expected, f


def test_a_late_event_on_an_old_email_is_picked_up_by_the_next_refresh(held_clock: datetime) -> None:
    today = held_clock.date()
    emails = recent_world(today)
    services.rollup_refresh()
    services.rollup_rebuild(days=[today - timedelta(days=n) for n in range(12)])
    services.rollup_refresh()  # twice: both cursor marks past the events above, so only new rows count
    week = DashboardFilters(start=today - timedelta(days=9), end=today)
    assert snapshot(week) == live_snapshot(week)

    # Days later the ESP reports opens of old emails, and Mid clicks an old welcome. Each lands on a summed-up day:
    # the email's sent day (per email) and, for a welcome, its lead's signup day (funnel) must both be rebuilt.
    def late(make: Any) -> None:
        make()
        assert snapshot(week) != live_snapshot(week)  # the summed-up days do not know yet
        services.rollup_refresh()
        assert snapshot(week) == live_snapshot(week)

    def open_event(email: ScheduledEmail) -> Any:
        return lambda: EmailEvent.objects.create(event_id=f"late-{email.pk}", event_type="opened",
                                                 scheduled_email=email, lead=email.lead)

    late(open_event(emails["old_day1"]))  # sent 8 days ago
    late(open_event(emails["slow_welcome"]))  # sent 5 days ago, signed up 6 days ago
    mid_welcome = emails["mid_welcome"]
    late(lambda: Click.objects.create(lead=mid_welcome.lead, scheduled_email=mid_welcome, target="upgrade"))

    rows = {row["step"]: row for row in snapshot(week)["emails"]}
    assert (rows["welcome"]["opened"], rows["welcome"]["upgrade_clicks"]) == (4, 3)
    assert rows["day-1"]["opened"] == 2
    assert snapshot(week)["summary"]["steps"][3]["count"] == 4  # welcome opened: Old, Slow, Yesterday, Today


def test_an_event_committed_after_a_refresh_with_a_lower_id_is_still_picked_up(held_clock: datetime) -> None:
    """Ids are handed out before commit: a webhook's transaction can commit an id below what a refresh saw."""
    today = held_clock.date()
    emails = recent_world(today)
    services.rollup_refresh()
    services.rollup_refresh()
    old_day1 = emails["old_day1"]
    in_flight = EmailEvent.objects.create(event_id="in-flight", event_type="opened", scheduled_email=old_day1)
    EmailEvent.objects.create(event_id="committed", event_type="delivered", scheduled_email=emails["mid_welcome"])
    in_flight_id = in_flight.pk
    in_flight.delete()  # not visible yet when the next refresh runs
    services.rollup_refresh()

    EmailEvent.objects.create(pk=in_flight_id, event_id="in-flight", event_type="opened", scheduled_email=old_day1)
    week = DashboardFilters(start=today - timedelta(days=9), end=today)
    assert snapshot(week) != live_snapshot(week)
    services.rollup_refresh()
    assert snapshot(week) == live_snapshot(week)


def test_the_rebuild_command_and_the_beat_tasks(held_clock: datetime) -> None:
    today = held_clock.date()
    recent_world(today)
    out = io.StringIO()
    call_command("rollup_rebuild", days=5, stdout=out, stderr=io.StringIO())
    assert "Rebuilt the dashboard rollup for the last 5 days" in out.getvalue()
    assert set(RollupDay.objects.values_list("day", flat=True)) == {today - timedelta(days=n) for n in range(5)}
    RollupDay.objects.all().delete()
    assert tasks.rebuild_recent_rollup(days=12) == 12  # the daily task, run in-process
    assert snapshot(DashboardFilters(start=today - timedelta(days=9), end=today)) == live_snapshot(
        DashboardFilters(start=today - timedelta(days=9), end=today))

    from django.conf import settings

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"funnel.dashboard.tasks.rollup_refresh", "funnel.dashboard.tasks.rollup_rebuild_recent"} <= scheduled
    assert {"funnel.dashboard.tasks.rollup_refresh", "funnel.dashboard.tasks.rollup_rebuild_recent"} <= set(app.tasks)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_scheduled_refresh(celery_worker_process: Any) -> None:
    """What beat sends every 5 minutes, by its scheduled name, runs in a real worker and builds the rollup."""
    from django.conf import settings

    today = timezone.now().date()
    recent_world(today)
    celery_worker_process.start()

    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-rollup-refresh"]
    result = app.send_task(entry["task"])

    assert result.get(timeout=60) >= 3, celery_worker_process.log()
    assert {today, today - timedelta(days=4), today - timedelta(days=9)} <= set(
        RollupDay.objects.values_list("day", flat=True)
    )
    week = DashboardFilters(start=today - timedelta(days=9), end=today)
    assert snapshot(week) == live_snapshot(week)

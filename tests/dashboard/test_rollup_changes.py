"""The daily rollup equals the scan it replaces after what changes old days in place: refunds, disputes, new
purchases and checkouts of old leads, late and duplicate ESP events, late confirmations and unsubscribes; and the
open days (today, yesterday) are read from it only while its build is fresh."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from emails.models import EmailEvent
from funnel.dashboard import selectors, services
from funnel.dashboard.selectors import DashboardFilters
from funnel.models import Purchase, RollupDay, SignupDayCount
from leads.models import Lead
from tests.dashboard.conftest import make_email, make_lead, make_purchase
from tests.dashboard.test_rollups import filter_sets, live_snapshot, recent_world, snapshot

pytestmark = pytest.mark.django_db


def built_world(today: Any) -> dict[str, Any]:
    """recent_world, its rollup built and both refresh cursors past its rows, plus an unconfirmed lead."""
    emails = recent_world(today)
    signed_up = datetime.combine(today - timedelta(days=5), datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    emails["unconfirmed"] = make_lead("Unconfirmed", "fb", "spring", signed_up, confirmed=False)
    services.rollup_rebuild(days=[today - timedelta(days=n) for n in range(12)])
    services.rollup_refresh()
    services.rollup_refresh()
    return emails


def test_every_late_change_to_an_old_day_is_picked_up_by_the_next_refresh(held_clock: datetime) -> None:
    today = held_clock.date()
    world = built_world(today)
    filter_list = filter_sets(today - timedelta(days=9), today)
    assert all(snapshot(f) == live_snapshot(f) for f in filter_list)
    old_purchase = Purchase.objects.get(lead__first_name="Old")
    mid_welcome, slow_welcome = world["mid_welcome"], world["slow_welcome"]
    mid = mid_welcome.lead

    def late(change: Callable[[], Any]) -> None:
        change()
        week = DashboardFilters(start=today - timedelta(days=9), end=today)
        assert snapshot(week) != live_snapshot(week)  # read from the rollup: the built days do not know yet
        services.rollup_refresh()
        for f in filter_list:
            assert snapshot(f) == live_snapshot(f), f

    # Money: a refund weeks later, a dispute, a second purchase of an old lead through an old email.
    late(lambda: Purchase.objects.filter(pk=old_purchase.pk).update(status=Purchase.Status.REFUNDED,
                                                                     refunded_at=timezone.now()))
    late(lambda: Purchase.objects.filter(pk=old_purchase.pk).update(status=Purchase.Status.DISPUTED,
                                                                     disputed_at=timezone.now()))
    late(lambda: make_purchase(mid, timezone.now(), mid_welcome, amount=1997))
    # The ESP: the same open reported twice (two events of one kind on one email count once), a late unsubscribe.
    day1 = world["old_day1"]

    def two_opens() -> None:
        for n in (1, 2):
            EmailEvent.objects.create(event_id=f"dup-{n}", event_type="opened", scheduled_email=day1, lead=day1.lead)

    late(two_opens)
    late(lambda: EmailEvent.objects.create(event_id="late-unsub", event_type="unsubscribed",
                                           scheduled_email=slow_welcome, lead=slow_welcome.lead))
    # The reader: a confirmation days after signing up, an unsubscribe with our own link.
    late(lambda: Lead.objects.filter(pk=world["unconfirmed"].pk).update(confirmed_at=timezone.now()))
    late(lambda: Lead.objects.filter(pk=mid.pk).update(status=Lead.Status.UNSUBSCRIBED,
                                                       unsubscribed_at=timezone.now()))

    week = DashboardFilters(start=today - timedelta(days=9), end=today)
    rows = {row["step"]: row for row in snapshot(week)["emails"]}
    # Old's welcome sold once (now disputed: still paid), Mid's welcome once more; Slow's welcome, Mid's day-1.
    assert (rows["welcome"]["purchases"], rows["welcome"]["gross_cents"]) == (3, 997 + 997 + 1997)
    assert rows["welcome"]["unsubscribes"] == 1 and rows["day-1"]["unsubscribes"] == 1
    assert rows["day-1"]["opened"] == 2  # Mid's day-1 and Old's day-1 (reported twice)


def test_a_rebuild_writes_the_same_rows_as_the_scan(held_clock: datetime) -> None:
    today = held_clock.date()
    built_world(today)
    days = [today - timedelta(days=n) for n in range(12)]
    stored = sorted((row["day"], row["utm_source"], row["utm_campaign"], row["signups"], row["paid"],
                     row["gross_cents"], row["to_first_purchase_us"])
                    for row in SignupDayCount.objects.values())
    scanned = sorted((row["day"], row["utm_source"], row["utm_campaign"], row["signups"], row["paid"],
                      row["gross_cents"], row["to_first_purchase_us"])
                     for row in selectors.signup_counts(selectors.day_ranges(days)))
    assert stored == scanned
    assert sum(row[3] for row in stored) == 6  # Old, Mid, Slow, Yesterday, Today, Unconfirmed


def test_open_days_come_from_the_rollup_only_while_its_build_is_fresh(db: None) -> None:
    noon = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
    with time_machine.travel(noon, tick=False) as clock:
        first = make_lead("First", "fb", "spring", noon - timedelta(hours=2))
        make_email(first, "welcome", noon - timedelta(hours=1), events=("delivered", "opened"))
        today = DashboardFilters(start=noon.date(), end=noon.date())
        services.rollup_refresh()
        assert noon.date() in selectors.read_days(noon.date(), noon.date())
        assert noon.date() not in selectors.rolled_days(noon.date(), noon.date())  # not a closed day

        clock.shift(timedelta(minutes=1))
        make_lead("Second", "fb", "spring", timezone.now())
        assert snapshot(today)["summary"]["steps"][1]["count"] == 1  # the 12:00 build, a minute old
        assert live_snapshot(today)["summary"]["steps"][1]["count"] == 2

        clock.shift(selectors.OPEN_DAY_FRESH_FOR)  # no refresh for 11 minutes (beat down): counted live again
        assert noon.date() not in selectors.read_days(noon.date(), noon.date())
        assert snapshot(today) == live_snapshot(today)
        assert snapshot(today)["summary"]["steps"][1]["count"] == 2

        services.rollup_refresh()
        assert RollupDay.objects.get(day=noon.date()).built_at == timezone.now()
        assert snapshot(today) == live_snapshot(today)

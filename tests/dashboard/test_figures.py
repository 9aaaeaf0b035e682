"""Every dashboard figure against the hand-built world of conftest.py, where the right answer is known."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from funnel.dashboard import selectors
from tests.dashboard.conftest import World

pytestmark = pytest.mark.django_db


def counts(summary: selectors.FunnelSummary) -> dict[str, int]:
    return {step.key: step.count for step in summary.steps}


def test_funnel_counts_follow_the_signup_cohort_of_the_period(world: World) -> None:
    summary = selectors.funnel_summary(world.filters)
    assert counts(summary) == {
        "visits": 60, "signups": 6, "confirmed": 5, "welcome_opened": 2, "upgrade_clicked": 2,
        "checkout_started": 2, "paid": 2, "refunded": 1,
    }


def test_funnel_rates_from_previous_step_and_from_top(world: World) -> None:
    summary = selectors.funnel_summary(world.filters)
    assert summary.step("visits").rate_from_previous is None
    assert summary.step("signups").rate_from_previous == pytest.approx(6 / 60)
    assert summary.step("confirmed").rate_from_previous == pytest.approx(5 / 6)
    assert summary.step("welcome_opened").rate_from_previous == pytest.approx(2 / 5)
    assert summary.step("paid").rate_from_top == pytest.approx(2 / 60)
    assert summary.step("refunded").rate_from_previous == pytest.approx(1 / 2)


def test_revenue_is_gross_and_net_of_refunds_and_ignores_purchases_held_for_review(world: World) -> None:
    summary = selectors.funnel_summary(world.filters)
    assert summary.gross_cents == 1994
    assert summary.refunded_cents == 997
    assert summary.net_cents == 997


def test_average_days_from_signup_to_purchase(world: World) -> None:
    summary = selectors.funnel_summary(world.filters)
    # L1: 2 days, L2: 6 hours.
    assert summary.avg_days_to_purchase == pytest.approx((2 + 0.25) / 2)


def test_previous_period_of_the_same_length(world: World) -> None:
    summary = selectors.funnel_summary(world.filters)
    previous = {step.key: step.previous_count for step in summary.steps}
    assert previous == {
        "visits": 30, "signups": 2, "confirmed": 1, "welcome_opened": 0, "upgrade_clicked": 0,
        "checkout_started": 1, "paid": 1, "refunded": 0,
    }
    assert summary.previous_gross_cents == 997
    assert summary.previous_net_cents == 997
    assert summary.previous_avg_days_to_purchase == pytest.approx(4.0)
    assert summary.step("signups").change == pytest.approx((6 - 2) / 2)


def test_source_filter(world: World) -> None:
    fb = selectors.funnel_summary(replace(world.filters, utm_source="fb"))
    assert counts(fb) == {
        "visits": 40, "signups": 3, "confirmed": 3, "welcome_opened": 2, "upgrade_clicked": 2,
        "checkout_started": 2, "paid": 2, "refunded": 1,
    }
    brand = selectors.funnel_summary(replace(world.filters, utm_campaign="brand"))
    assert counts(brand)["signups"] == 3
    assert counts(brand)["visits"] == 20
    assert counts(brand)["paid"] == 0
    assert brand.gross_cents == 0
    assert counts(selectors.funnel_summary(replace(world.filters, utm_medium="email")))["signups"] == 0


def test_date_range_filter_includes_both_whole_days(world: World) -> None:
    one_day = replace(world.filters, start=date(2026, 3, 8), end=date(2026, 3, 8))
    assert counts(selectors.funnel_summary(one_day))["signups"] == 1  # L5 at 23:00; L7 at 00:00 next day is out
    next_day = replace(world.filters, start=date(2026, 3, 9), end=date(2026, 3, 9))
    assert counts(selectors.funnel_summary(next_day))["signups"] == 1
    assert counts(selectors.funnel_summary(next_day))["visits"] == 100


def email_rows(world: World) -> dict[str, selectors.EmailRow]:
    return {row.step: row for row in selectors.per_email(world.filters)}


def test_per_email_counts(world: World) -> None:
    rows = email_rows(world)
    assert list(rows) == ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]
    welcome, day1 = rows["welcome"], rows["day-1"]
    assert (welcome.sent, welcome.delivered, welcome.opened, welcome.bounces, welcome.complaints) == (5, 4, 2, 1, 1)
    assert (welcome.clicked, welcome.upgrade_clicks) == (2, 1)  # L2 upgrade (twice: one email), L6 free guide
    assert (day1.sent, day1.delivered, day1.opened, day1.clicked, day1.upgrade_clicks) == (2, 2, 1, 1, 1)
    assert rows["day-2"].sent == 0  # scheduled, not sent


def test_per_email_purchases_are_credited_to_the_exact_email(world: World) -> None:
    rows = email_rows(world)
    assert (rows["welcome"].purchases, rows["welcome"].gross_cents, rows["welcome"].net_cents) == (1, 997, 0)
    assert (rows["day-1"].purchases, rows["day-1"].gross_cents, rows["day-1"].net_cents) == (1, 997, 997)


def test_per_email_unsubscribes_are_counted_once_on_the_last_email_before(world: World) -> None:
    rows = email_rows(world)
    # L5: ESP unsubscribe on welcome. L6: our link after day-1 (its ESP event on day-1 is the same person: once).
    assert rows["welcome"].unsubscribes == 1
    assert rows["day-1"].unsubscribes == 1


def test_per_email_covers_emails_sent_in_the_period_and_the_source_filter(world: World) -> None:
    google = {row.step: row for row in selectors.per_email(replace(world.filters, utm_source="google"))}
    assert (google["welcome"].sent, google["welcome"].bounces, google["welcome"].purchases) == (2, 1, 0)
    march_9 = {row.step: row for row in selectors.per_email(
        replace(world.filters, start=date(2026, 3, 9), end=date(2026, 3, 9)))}
    assert (march_9["welcome"].sent, march_9["welcome"].opened) == (1, 1)  # L7 only


def test_cohort_shares_by_days_after_signup(world: World) -> None:
    rows = selectors.cohorts(replace(world.filters, start=date(2026, 2, 23)), now=datetime(2026, 6, 1, tzinfo=UTC))
    assert [(row.week, row.signups) for row in rows] == [(date(2026, 2, 23), 2), (date(2026, 3, 2), 6)]
    previous, current = rows
    assert [previous.share(d) for d in (1, 3, 7, 14, 30)] == [0, 0, 0.5, 0.5, 0.5]  # P1 after 4 days
    assert current.share(1) == pytest.approx(1 / 6)  # L2 within hours (refunded later, still bought)
    assert current.share(3) == pytest.approx(2 / 6)  # and L1 after 2 days
    assert current.share(30) == pytest.approx(2 / 6)
    assert all(current.complete_by_day.values())


def test_young_cohorts_are_marked_incomplete(world: World) -> None:
    (row,) = selectors.cohorts(world.filters, now=datetime(2026, 3, 12, tzinfo=UTC))
    assert row.complete_by_day == {1: True, 3: True, 7: False, 14: False, 30: False}


def test_per_source_split_and_sorting(world: World) -> None:
    rows = selectors.per_source(world.filters, sort="-paid")
    assert [(r.utm_source, r.utm_campaign) for r in rows] == [("fb", "spring"), ("google", "brand")]
    fb, google = rows
    assert (fb.visits, fb.signups, fb.confirmed, fb.welcome_opened, fb.upgrade_clicked, fb.checkout_started,
            fb.paid, fb.refunded, fb.net_cents) == (40, 3, 3, 2, 2, 2, 2, 1, 997)
    assert (google.visits, google.signups, google.confirmed, google.paid) == (20, 3, 2, 0)
    assert fb.paid_rate == pytest.approx(2 / 3)
    ascending = selectors.per_source(world.filters, sort="paid")
    assert [r.utm_source for r in ascending] == ["google", "fb"]
    by_name = selectors.per_source(world.filters, sort="utm_source")
    assert [r.utm_source for r in by_name] == ["fb", "google"]


def test_conversion_by_day_has_every_day_of_the_period(world: World) -> None:
    points = selectors.conversion_by_day(world.filters)
    assert [p.day for p in points] == [date(2026, 3, d) for d in range(2, 9)]
    march_2, march_3 = points[0], points[1]
    assert (march_2.visits, march_2.signups, march_2.buyers) == (40, 1, 1)
    assert march_2.signup_rate == pytest.approx(1 / 40)
    assert (march_3.visits, march_3.signups, march_3.buyers, march_3.signup_rate) == (0, 1, 1, None)


def test_default_period_is_the_last_7_days_compared_with_the_7_before() -> None:
    from funnel.dashboard.forms import DashboardFilterForm

    filters = DashboardFilterForm({}).filters(today=date(2026, 3, 8))
    assert (filters.start, filters.end, filters.days) == (date(2026, 3, 2), date(2026, 3, 8), 7)
    assert (filters.previous().start, filters.previous().end) == (date(2026, 2, 23), date(2026, 3, 1))
    invalid = DashboardFilterForm({"start": "2026-03-09", "end": "2026-03-01"}).filters(today=date(2026, 3, 8))
    assert (invalid.start, invalid.end) == (date(2026, 3, 2), date(2026, 3, 8))

"""Signups by week and the share of each week who paid within N days."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from funnel.dashboard.selectors.common import COHORT_DAYS, DashboardFilters, rate
from funnel.dashboard.selectors.signups import signup_rows


@dataclass
class CohortRow:
    week: date
    signups: int
    buyers_by_day: dict[int, int] = field(default_factory=dict)
    complete_by_day: dict[int, bool] = field(default_factory=dict)

    def share(self, days: int) -> float | None:
        return rate(self.buyers_by_day.get(days, 0), self.signups)


def cohorts(filters: DashboardFilters, *, now: datetime | None = None,
            rows: list[dict[str, Any]] | None = None) -> list[CohortRow]:
    """Signups per week (UTC, from Monday) and the share who paid within N days of signing up, summed from the signup
    rows (`rows`: those of a range covering the period, when the caller has them)."""
    now = now or timezone.now()
    if rows is None:
        rows = signup_rows(filters.start, filters.end, filters=filters)
    weeks: dict[date, CohortRow] = {}
    buyers: dict[date, int] = defaultdict(int)
    for item in sorted(rows, key=lambda item: item["day"]):
        if not (filters.start <= item["day"] <= filters.end) or not item["signups"]:
            continue
        week = item["day"] - timedelta(days=item["day"].weekday())
        row = weeks.setdefault(week, CohortRow(week=week, signups=0))
        row.signups += item["signups"]
        buyers[week] += item["paid"]
        for days in COHORT_DAYS:
            row.buyers_by_day[days] = row.buyers_by_day.get(days, 0) + item[f"paid_within_{days}"]
    for week, row in weeks.items():
        if not buyers[week]:
            row.buyers_by_day = {}  # as before: a week without a buyer has no shares at all, not zeros
        # The youngest lead of the week signed up at most 7 days after its Monday.
        last_signup = datetime.combine(row.week + timedelta(days=7), time.min, tzinfo=UTC)
        row.complete_by_day = {days: last_signup + timedelta(days=days) <= now for days in COHORT_DAYS}
    return list(weeks.values())

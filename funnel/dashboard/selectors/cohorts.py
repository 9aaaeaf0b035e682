"""Signups by week and the share of each week who paid within N days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from funnel.dashboard.selectors.common import COHORT_DAYS, PAID_STATUSES, DashboardFilters, rate
from funnel.dashboard.selectors.funnel import leads_in
from funnel.models import Purchase


@dataclass
class CohortRow:
    week: date
    signups: int
    buyers_by_day: dict[int, int] = field(default_factory=dict)
    complete_by_day: dict[int, bool] = field(default_factory=dict)

    def share(self, days: int) -> float | None:
        return rate(self.buyers_by_day.get(days, 0), self.signups)


def cohorts(filters: DashboardFilters, *, now: datetime | None = None) -> list[CohortRow]:
    """Signups per week and the share who paid within N days of signing up (two queries)."""
    now = now or timezone.now()
    cohort = leads_in(filters)
    signups = cohort.annotate(week=TruncWeek("created_at")).values("week").annotate(n=Count("pk")).order_by("week")
    rows = {
        _as_date(item["week"]): CohortRow(week=_as_date(item["week"]), signups=item["n"]) for item in signups
    }

    within = {
        f"d{days}": Count(
            "lead_id", distinct=True, filter=Q(created_at__lte=F("lead__created_at") + timedelta(days=days))
        )
        for days in COHORT_DAYS
    }
    buyers = (
        Purchase.objects.filter(lead__in=cohort, status__in=PAID_STATUSES)
        .annotate(week=TruncWeek("lead__created_at"))
        .values("week")
        .annotate(**within)
    )
    for item in buyers:
        row = rows.get(_as_date(item["week"]))
        if row is not None:
            row.buyers_by_day = {days: item[f"d{days}"] for days in COHORT_DAYS}
    for row in rows.values():
        # The youngest lead of the week signed up at most 7 days after its Monday.
        last_signup = datetime.combine(row.week + timedelta(days=7), time.min, tzinfo=UTC)
        row.complete_by_day = {days: last_signup + timedelta(days=days) <= now for days in COHORT_DAYS}
    return list(rows.values())


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


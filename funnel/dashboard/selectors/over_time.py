"""Conversion by signup day, and the UTM values the filters offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from funnel.dashboard.selectors.common import UTM_FIELDS, DashboardFilters, rate
from funnel.dashboard.selectors.funnel import leads_in, step_conditions, visits_q
from funnel.models import DailyVisit


@dataclass
class DayPoint:
    day: date
    visits: int
    signups: int
    buyers: int

    @property
    def signup_rate(self) -> float | None:
        return rate(self.signups, self.visits)

    @property
    def paid_rate(self) -> float | None:
        return rate(self.buyers, self.signups)


def conversion_by_day(filters: DashboardFilters) -> list[DayPoint]:
    """Per signup day: visits, signups and how many of them have paid so far (two queries)."""
    paid = step_conditions(filters.since, filters.until)["paid"]
    leads = {
        item["day"]: item
        for item in leads_in(filters)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(signups=Count("pk"), buyers=Count("pk", filter=paid))
    }
    visits = {
        item["date"]: item["n"]
        for item in DailyVisit.objects.filter(visits_q(filters)).values("date").annotate(n=Sum("count"))
    }
    points = []
    for offset in range(filters.days):
        day = filters.start + timedelta(days=offset)
        item = leads.get(day, {})
        points.append(
            DayPoint(day=day, visits=visits.get(day, 0) or 0, signups=item.get("signups", 0),
                     buyers=item.get("buyers", 0))
        )
    return points


def utm_choices() -> dict[str, list[str]]:
    """The values offered in the filter drop-downs.

    Read from the landing page's visit counters (a few rows per day) rather than the leads table: every signup
    comes through the landing page, whose visit is counted with the same UTM values.
    """
    return {
        name: list(
            DailyVisit.objects.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()[:200]
        )
        for name in UTM_FIELDS
    }

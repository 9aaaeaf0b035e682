"""Conversion by signup day, and the UTM values the filters offer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum

from funnel.dashboard.selectors.common import UTM_FIELDS, DashboardFilters, rate
from funnel.dashboard.selectors.funnel import visits_q
from funnel.dashboard.selectors.signups import signup_rows
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


def conversion_by_day(filters: DashboardFilters, *, rows: list[dict[str, Any]] | None = None) -> list[DayPoint]:
    """Per signup day: visits, signups and how many of them have paid so far, from the signup rows (`rows`: those
    of a range covering the period, when the caller has them) and the visit counters."""
    if rows is None:
        rows = signup_rows(filters.start, filters.end, filters=filters)
    leads: dict[date, dict[str, int]] = defaultdict(lambda: {"signups": 0, "buyers": 0})
    for row in rows:
        if filters.start <= row["day"] <= filters.end:
            leads[row["day"]]["signups"] += row["signups"]
            leads[row["day"]]["buyers"] += row["paid"]
    visits = {
        item["date"]: item["n"]
        for item in DailyVisit.objects.filter(visits_q(filters)).values("date").annotate(n=Sum("count"))
    }
    points = []
    for offset in range(filters.days):
        day = filters.start + timedelta(days=offset)
        item = leads.get(day, {})
        points.append(DayPoint(day=day, visits=visits.get(day, 0) or 0, signups=item.get("signups", 0),
                               buyers=item.get("buyers", 0)))
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

"""The funnel of a signup cohort (and of the previous period), its revenue, and the same split by source."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Case, Q, QuerySet, Sum, Value, When

from funnel.dashboard.selectors.common import DashboardFilters, rate
from funnel.dashboard.selectors.signups import SIGNUP_STEPS, signup_rows
from funnel.dashboard.selectors.sources import SourceRow, sort_sources
from funnel.models import DailyVisit
from leads.models import Lead


@dataclass
class FunnelStep:
    key: str
    label: str
    count: int
    rate_from_previous: float | None
    rate_from_top: float | None
    previous_count: int = 0  # the same step in the previous period

    @property
    def change(self) -> float | None:
        """Relative change against the previous period."""
        if not self.previous_count:
            return None
        return (self.count - self.previous_count) / self.previous_count


@dataclass
class FunnelSummary:
    steps: list[FunnelStep]
    gross_cents: int
    refunded_cents: int
    net_cents: int
    avg_days_to_purchase: float | None
    previous_gross_cents: int
    previous_net_cents: int
    previous_avg_days_to_purchase: float | None

    def step(self, key: str) -> FunnelStep:
        return next(s for s in self.steps if s.key == key)


FUNNEL_STEPS = [
    ("visits", "Landing page visits"),
    ("signups", "Signups"),
    ("confirmed", "Confirmed email"),
    ("welcome_opened", "Opened the welcome email"),
    ("upgrade_clicked", "Clicked an upgrade link"),
    ("checkout_started", "Started a checkout"),
    ("paid", "Paid"),
    ("refunded", "Refunded"),
]


def leads_in(filters: DashboardFilters) -> QuerySet[Lead]:
    return Lead.objects.filter(filters.utm_q(), created_at__gte=filters.since, created_at__lt=filters.until)


def visits_q(filters: DashboardFilters) -> Q:
    return Q(date__gte=filters.start, date__lte=filters.end) & filters.utm_q()


def funnel_summary(filters: DashboardFilters) -> FunnelSummary:
    return funnel_and_sources(filters)[0]


def per_source(filters: DashboardFilters, *, sort: str = "-signups") -> list[SourceRow]:
    return sort_sources(funnel_and_sources(filters)[1], sort)


def funnel_and_sources(filters: DashboardFilters, *, rolled: set[date] | None = None,
                       rows: list[dict[str, Any]] | None = None) -> tuple[FunnelSummary, list[SourceRow]]:
    """The funnel of the period and of the previous one, and the period's funnel split by source × campaign.

    Summed from the signup rows of both periods (signups.signup_rows: the rollup's built days, the others counted
    live; `rows` when the caller already has them) and the landing page's daily visit counters: the funnel is the
    sum of the source rows.
    """
    previous = filters.previous()
    if rows is None:
        rows = signup_rows(previous.start, filters.end, filters=filters, rolled=rolled)
    counts: dict[str, int] = defaultdict(int)
    sources: dict[tuple[str, str], SourceRow] = {}
    money: dict[str, int] = defaultdict(int)
    for item in rows:
        tag, key = ("cur" if item["day"] >= filters.start else "prev"), (item["utm_source"], item["utm_campaign"])
        for name in ("signups", *SIGNUP_STEPS):
            counts[f"{tag}_{name}"] += item[name]
        for name in ("gross_cents", "refunded_cents", "to_first_purchase_us"):
            money[f"{tag}_{name}"] += item[name]
        if tag == "cur":
            row = sources.setdefault(key, SourceRow(utm_source=key[0], utm_campaign=key[1]))
            for name in ("signups", *SIGNUP_STEPS):
                setattr(row, name, getattr(row, name) + item[name])
            row.gross_cents += item["gross_cents"]
            row.net_cents += item["gross_cents"] - item["refunded_cents"]

    visits = (DailyVisit.objects.filter(visits_q(filters) | visits_q(previous))
              .annotate(period=Case(When(date__gte=filters.start, then=Value("cur")), default=Value("prev")))
              .values("period", "utm_source", "utm_campaign").annotate(n=Sum("count")).order_by())
    for item in visits:
        counts[f"{item['period']}_visits"] += item["n"] or 0
        if item["period"] == "cur":
            key = (item["utm_source"], item["utm_campaign"])
            row = sources.setdefault(key, SourceRow(utm_source=key[0], utm_campaign=key[1]))
            row.visits += item["n"] or 0

    steps: list[FunnelStep] = []
    top = counts["cur_visits"] or counts["cur_signups"]
    before: int | None = None
    for step_key, label in FUNNEL_STEPS:
        count = counts[f"cur_{step_key}"]
        steps.append(
            FunnelStep(
                key=step_key,
                label=label,
                count=count,
                rate_from_previous=None if before is None else rate(count, before),
                rate_from_top=rate(count, top),
                previous_count=counts[f"prev_{step_key}"],
            )
        )
        before = count
    summary = FunnelSummary(
        steps=steps,
        gross_cents=money["cur_gross_cents"],
        refunded_cents=money["cur_refunded_cents"],
        net_cents=money["cur_gross_cents"] - money["cur_refunded_cents"],
        avg_days_to_purchase=_average_days(money["cur_to_first_purchase_us"], counts["cur_paid"]),
        previous_gross_cents=money["prev_gross_cents"],
        previous_net_cents=money["prev_gross_cents"] - money["prev_refunded_cents"],
        previous_avg_days_to_purchase=_average_days(money["prev_to_first_purchase_us"], counts["prev_paid"]),
    )
    return summary, list(sources.values())


def _average_days(total_us: int, buyers: int) -> float | None:
    """The average time to the first purchase in days, to the microsecond (as PostgreSQL averages intervals)."""
    if not buyers:
        return None
    return timedelta(microseconds=round(total_us / buyers)).total_seconds() / 86400

"""The funnel of a signup cohort (and of the previous period), its revenue, and the same split by source."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Case, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import PAID_STATUSES, DashboardFilters, rate
from funnel.dashboard.selectors.days import Range, in_ranges, split_days
from funnel.dashboard.selectors.sources import SourceRow, sort_sources
from funnel.models import CheckoutSession, DailyVisit, Purchase, SignupDayCount
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


def step_conditions(since: datetime, until: datetime, *, live: list[Range] | None = None) -> dict[str, Q]:
    """Per-lead conditions of the funnel steps after signup, for leads who signed up in [since, until).

    Uncorrelated `pk IN (...)` subqueries: PostgreSQL hashes each one once instead of probing per lead. The welcome
    opens are looked up only for the window's leads (or only for those of the `live` ranges, when the other days
    come from the rollup): the events table is the biggest one.
    """
    ranges = [(since, until)] if live is None else live
    welcome_opened = EmailEvent.objects.filter(
        in_ranges("scheduled_email__lead__created_at", ranges),
        event_type="opened",
        scheduled_email__step="welcome",
        scheduled_email__stream=ScheduledEmail.Stream.MARKETING,
    ).values("scheduled_email__lead_id")
    return {
        "confirmed": Q(confirmed_at__isnull=False),
        "welcome_opened": in_ranges("created_at", ranges) & Q(pk__in=welcome_opened),
        "upgrade_clicked": Q(pk__in=Click.objects.filter(target=Click.Target.UPGRADE, machine=Click.Machine.HUMAN)
                             .values("lead_id")),
        "checkout_started": Q(pk__in=CheckoutSession.objects.filter(lead__isnull=False).values("lead_id")),
        "paid": Q(pk__in=Purchase.objects.filter(status__in=PAID_STATUSES).values("lead_id")),
        "refunded": Q(pk__in=Purchase.objects.filter(status=Purchase.Status.REFUNDED).values("lead_id")),
    }


def leads_in(filters: DashboardFilters) -> QuerySet[Lead]:
    return Lead.objects.filter(filters.utm_q(), created_at__gte=filters.since, created_at__lt=filters.until)


def visits_q(filters: DashboardFilters) -> Q:
    return Q(date__gte=filters.start, date__lte=filters.end) & filters.utm_q()


def funnel_summary(filters: DashboardFilters) -> FunnelSummary:
    return funnel_and_sources(filters)[0]


def per_source(filters: DashboardFilters, *, sort: str = "-signups") -> list[SourceRow]:
    return sort_sources(funnel_and_sources(filters)[1], sort)


def funnel_and_sources(filters: DashboardFilters, *,
                       rolled: set[date] | None = None) -> tuple[FunnelSummary, list[SourceRow]]:
    """The funnel of the period and of the previous one, and the period's funnel split by source × campaign.

    One grouped pass over the two periods' leads feeds both (four queries: leads, visits, money, time to buy, and
    a fifth for the welcome opens of the days in the daily rollup): the funnel is the sum of the source rows.
    """
    previous = filters.previous()
    rolled_in, live = split_days(previous.start, filters.end, rolled=rolled)
    conditions = step_conditions(previous.since, filters.until, live=live)
    # Grouped by period rather than one FILTER per period: each subquery above then runs once, not twice.
    period = Case(When(created_at__gte=filters.since, then=Value("cur")), default=Value("prev"))
    grouped = (
        Lead.objects.filter(filters.utm_q(), created_at__gte=previous.since, created_at__lt=filters.until)
        .annotate(period=period)
        .values("period", "utm_source", "utm_campaign")
        .annotate(signups=Count("pk"), **{key: Count("pk", filter=q) for key, q in conditions.items()})
        .order_by()
    )
    counts: dict[str, int] = defaultdict(int)
    sources: dict[tuple[str, str], SourceRow] = {}
    for item in grouped:
        tag, key = item.pop("period"), (item.pop("utm_source"), item.pop("utm_campaign"))
        for name, value in item.items():
            counts[f"{tag}_{name}"] += value
        if tag == "cur":
            sources[key] = SourceRow(utm_source=key[0], utm_campaign=key[1], **item)

    def add_daily(rows: QuerySet[Any], date_field: str, total: str, field: str) -> None:
        """Sum a daily table's `total` per period and source into the funnel's `<period>_<field>` and, for this
        period, the source's `field`."""
        summed = (rows.annotate(period=Case(When(**{f"{date_field}__gte": filters.start}, then=Value("cur")),
                                            default=Value("prev")))
                  .values("period", "utm_source", "utm_campaign").annotate(n=Sum(total)).order_by())
        for item in summed:
            counts[f"{item['period']}_{field}"] += item["n"] or 0
            if item["period"] == "cur":
                key = (item["utm_source"], item["utm_campaign"])
                row = sources.setdefault(key, SourceRow(utm_source=key[0], utm_campaign=key[1]))
                setattr(row, field, getattr(row, field) + (item["n"] or 0))

    add_daily(DailyVisit.objects.filter(visits_q(filters) | visits_q(previous)), "date", "count", "visits")
    if rolled_in:
        # Welcome opens of the leads who signed up on the days already summed up (the live query skipped them).
        add_daily(SignupDayCount.objects.filter(filters.utm_q(), day__in=rolled_in), "day", "welcome_opened",
                  "welcome_opened")

    money = _money(filters, previous, sources)

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
    return FunnelSummary(steps=steps, **money), list(sources.values())


def _money(filters: DashboardFilters, previous: DashboardFilters,
           sources: dict[tuple[str, str], SourceRow]) -> dict[str, Any]:
    """Revenue of both periods' cohorts (also per source, written into `sources`) and time to first purchase."""
    period = Case(When(lead__created_at__gte=filters.since, then=Value("cur")), default=Value("prev"))
    purchases = Purchase.objects.filter(
        filters.utm_q("lead__"),
        status__in=PAID_STATUSES,
        lead__created_at__gte=previous.since,
        lead__created_at__lt=filters.until,
    )
    sums: dict[str, int] = defaultdict(int)
    grouped = (
        purchases.annotate(period=period)
        .values("period", "lead__utm_source", "lead__utm_campaign")
        .annotate(gross=Sum("amount_cents"), refunded=Sum("amount_cents", filter=Q(status=Purchase.Status.REFUNDED)))
        .order_by()
    )
    for item in grouped:
        gross, refunded = item["gross"] or 0, item["refunded"] or 0
        sums[f"{item['period']}_gross"] += gross
        sums[f"{item['period']}_refunded"] += refunded
        row = sources.get((item["lead__utm_source"], item["lead__utm_campaign"]))
        if item["period"] == "cur" and row is not None:
            row.gross_cents, row.net_cents = gross, gross - refunded

    # Time to the *first* paid purchase: a subquery, so a lead who bought twice counts once.
    first_paid = (
        Purchase.objects.filter(lead=OuterRef("pk"), status__in=PAID_STATUSES)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    buyers = Lead.objects.filter(
        filters.utm_q(),
        created_at__gte=previous.since,
        created_at__lt=filters.until,
        pk__in=purchases.values("lead_id"),
    ).annotate(days=Subquery(first_paid) - F("created_at"))
    durations = buyers.aggregate(
        cur=Avg("days", filter=Q(created_at__gte=filters.since)),
        prev=Avg("days", filter=Q(created_at__lt=filters.since)),
    )

    def days(value: timedelta | None) -> float | None:
        return None if value is None else value.total_seconds() / 86400

    return {
        "gross_cents": sums["cur_gross"],
        "refunded_cents": sums["cur_refunded"],
        "net_cents": sums["cur_gross"] - sums["cur_refunded"],
        "avg_days_to_purchase": days(durations["cur"]),
        "previous_gross_cents": sums["prev_gross"],
        "previous_net_cents": sums["prev_gross"] - sums["prev_refunded"],
        "previous_avg_days_to_purchase": days(durations["prev"]),
    }


"""The signup cohort per UTC signup day and first-touch UTM: what the funnel, the per-source table, conversion by
day and the weekly cohorts are all summed from.

`signup_counts` counts days from the source tables (the rollup's build and the live days use it alike);
`signup_rows` gives a period's rows, the built days read from SignupDayCount and the others counted live, so the
dashboard reads a few rows per day and source instead of every lead of both periods.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import COHORT_DAYS, PAID_STATUSES, UTM_FIELDS, DashboardFilters
from funnel.dashboard.selectors.days import Range, in_ranges, split_days
from funnel.models import CheckoutSession, Purchase, SignupDayCount
from leads.models import Lead

SIGNUP_STEPS = ("confirmed", "welcome_opened", "upgrade_clicked", "checkout_started", "paid", "refunded")
WITHIN_COLUMNS = tuple(f"paid_within_{days}" for days in COHORT_DAYS)
SIGNUP_COLUMNS = ("signups", *SIGNUP_STEPS, "gross_cents", "refunded_cents", "to_first_purchase_us",
                  *WITHIN_COLUMNS)
# The dashboard never splits by medium: its rows are summed per day, source and campaign (medium only filters).
SHOWN_KEY = ("day", "utm_source", "utm_campaign")
MICROSECOND = timedelta(microseconds=1)


def step_conditions(ranges: list[Range]) -> dict[str, Q]:
    """Per-lead conditions of the funnel's steps after signup, for leads who signed up in these ranges.

    Uncorrelated `pk IN (...)` subqueries, each limited to the ranges' leads (found by the signup time index, then
    each table's index on the lead): PostgreSQL hashes each one once, and none reads a whole table.
    """
    def of_leads(prefix: str) -> Q:
        return in_ranges(f"{prefix}created_at", ranges)

    def lead_ids(rows: QuerySet[Any], lead: str = "lead_id") -> Q:
        return Q(pk__in=rows.values(lead))

    return {
        "confirmed": Q(confirmed_at__isnull=False),
        "welcome_opened": lead_ids(EmailEvent.objects.filter(
            of_leads("scheduled_email__lead__"), event_type="opened", scheduled_email__step="welcome",
            scheduled_email__stream=ScheduledEmail.Stream.MARKETING), "scheduled_email__lead_id"),
        "upgrade_clicked": lead_ids(Click.objects.filter(of_leads("lead__"), target=Click.Target.UPGRADE,
                                                         machine=Click.Machine.HUMAN)),
        "checkout_started": lead_ids(CheckoutSession.objects.filter(of_leads("lead__"))),
        "paid": lead_ids(Purchase.objects.filter(of_leads("lead__"), status__in=PAID_STATUSES)),
        "refunded": lead_ids(Purchase.objects.filter(of_leads("lead__"), status=Purchase.Status.REFUNDED)),
    }


def signup_counts(ranges: list[Range], *, utm: Q | None = None) -> list[dict[str, Any]]:
    """Rows of {day, utm_source, utm_medium, utm_campaign, *SIGNUP_COLUMNS} for the leads who signed up in these
    ranges (and match `utm`, a filter on Lead). Two queries."""
    if not ranges:
        return []
    leads = Lead.objects.filter(in_ranges("created_at", ranges), utm or Q())
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(key: tuple[Any, ...]) -> dict[str, Any]:
        if key not in rows:
            rows[key] = {**dict(zip(("day", *UTM_FIELDS), key, strict=True)), **dict.fromkeys(SIGNUP_COLUMNS, 0)}
        return rows[key]

    grouped = (leads.annotate(day=TruncDate("created_at", tzinfo=UTC)).values("day", *UTM_FIELDS)
               .annotate(signups=Count("pk"), **{name: Count("pk", filter=q)
                                                 for name, q in step_conditions(ranges).items()})
               .order_by())
    for item in grouped:
        row(tuple(item[name] for name in ("day", *UTM_FIELDS))).update(
            {name: item[name] for name in ("signups", *SIGNUP_STEPS)})

    # Revenue and time to the first paid purchase: the cohort's paid purchases, a few per hundred leads.
    first_paid: dict[int, tuple[tuple[Any, ...], timedelta]] = {}
    purchases = (Purchase.objects.filter(lead__in=leads, status__in=PAID_STATUSES)
                 .values_list("lead_id", "lead__created_at", *(f"lead__{name}" for name in UTM_FIELDS),
                              "status", "amount_cents", "created_at")
                 .order_by("created_at", "pk"))
    for lead_id, signed_up, *utm_values, status, amount, bought in purchases:
        key = (signed_up.astimezone(UTC).date(), *utm_values)
        item = row(key)
        item["gross_cents"] += amount
        if status == Purchase.Status.REFUNDED:
            item["refunded_cents"] += amount
        first_paid.setdefault(lead_id, (key, bought - signed_up))
    for key, took in first_paid.values():
        item = row(key)
        item["to_first_purchase_us"] += took // MICROSECOND
        for days, name in zip(COHORT_DAYS, WITHIN_COLUMNS, strict=True):
            item[name] += took <= timedelta(days=days)
    return list(rows.values())


def signup_rows(start: date, end: date, *, filters: DashboardFilters,
                rolled: set[date] | None = None) -> list[dict[str, Any]]:
    """Rows of {day, utm_source, utm_campaign, *SIGNUP_COLUMNS} for [start, end] under the filters' UTM values:
    the built days from the rollup (one query), the others counted live (two more)."""
    rolled_in, live = split_days(start, end, rolled=rolled)
    found: list[dict[str, Any]] = []
    if rolled_in:
        found += (SignupDayCount.objects.filter(filters.utm_q(), day__in=rolled_in).values(*SHOWN_KEY)
                  .annotate(**{name: Sum(name) for name in SIGNUP_COLUMNS}).order_by())
    found += signup_counts(live, utm=filters.utm_q())
    return found

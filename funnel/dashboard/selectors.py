"""Every figure on the conversion dashboard, aggregated in the database.

Definitions (shown to marketers on the page, and relied on by the tests):

- The period is a range of whole UTC days, both ends included. UTM filters match the lead's first-touch
  `utm_source` / `utm_medium` / `utm_campaign` (and the same columns of the landing page visit counters).
- The funnel follows the *signup cohort*: the leads who signed up in the period, and what they did after
  that, up to now. Landing visits are the visits counted on the days of the period.
  Steps: visits → signups → confirmed → opened the welcome email → clicked any upgrade link → started a checkout
  → paid (a purchase that was paid, even if refunded or disputed later) → refunded.
- Revenue is the cohort's purchases: gross = every paid purchase, net = gross minus refunded purchases.
- Average days to purchase: from signup to the lead's first paid purchase, over the cohort's buyers.
- Per email covers the sequence emails (welcome, day-1..day-7) *sent* in the period. "Clicked" and "upgrade
  clicks" count emails with at least one click through our signed redirect (exact, unlike ESP click tracking).
  Purchases are credited to the exact email whose link started the checkout.
  Unsubscribes: people who unsubscribed with our own link or preferences page, credited to the last sequence
  email sent to them before they unsubscribed, plus "unsubscribed" events reported by the ESP on that email for
  people who did not (also) unsubscribe with our link, so nobody is counted twice.
- Cohorts: signups grouped by the week (Monday) they signed up; the share who paid within 1, 3, 7, 14 and 30
  days of signing up. A share is marked incomplete while the cohort is younger than that many days.

The number of queries is constant: no query runs per lead, per email or per row of a table.

Speed: counting every email event of a 90-day period takes seconds at 100,000 leads (about a million events; no
index avoids reading them all). So the figures that need the events and clicks tables (per email: sent, events,
clicks; funnel: welcome opened) are read from a daily rollup for the closed days (before yesterday) that it has
built, and counted live for the others, with the same code (email_counts, step_conditions): the numbers are the
same either way. See dashboard/services.py for how the rollup stays current when events arrive late. Both paths
rely on a click following its email's send (a link cannot be clicked before it is mailed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Case, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from emails.models import SEQUENCE_STEPS, Click, EmailEvent, ScheduledEmail
from funnel.models import CheckoutSession, DailyVisit, EmailDayCount, Purchase, RollupDay, SignupDayCount
from leads.models import Lead

# A purchase that was paid at some point (a refund or dispute comes after a payment; "review" never paid out).
PAID_STATUSES = (Purchase.Status.PAID, Purchase.Status.REFUNDED, Purchase.Status.DISPUTED)
COHORT_DAYS = (1, 3, 7, 14, 30)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class DashboardFilters:
    start: date
    end: date  # inclusive
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DashboardFilters:
        """The period of the same length just before this one, with the same UTM filters."""
        return DashboardFilters(
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
            utm_source=self.utm_source,
            utm_medium=self.utm_medium,
            utm_campaign=self.utm_campaign,
        )

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """Exclusive upper bound: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def utm_q(self, prefix: str = "") -> Q:
        q = Q()
        for name in UTM_FIELDS:
            value = getattr(self, name)
            if value:
                q &= Q(**{f"{prefix}{name}": value})
        return q


@contextmanager
def reporting_session() -> Iterator[None]:
    """One read transaction for all the dashboard's queries, tuned for reporting on PostgreSQL.

    JIT compilation costs PostgreSQL a few hundred milliseconds on these aggregate queries and gains nothing at this
    size; a larger sort memory keeps COUNT(DISTINCT ...) in memory instead of spilling to disk. Both are set for
    this transaction only (`set_config(..., true)`), so the pooled connection is left as it was.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)")
        yield


_PLANNER_SQL = "SELECT set_config('enable_hashjoin', '{value}', true), set_config('enable_mergejoin', '{value}', true)"


@contextmanager
def nested_loop_joins() -> Iterator[None]:
    """Join through indexes instead of hashing whole tables: used for the per-email events count.

    The planner prefers hashing every email row of the period (hundreds of thousands) against every event; walking
    the (scheduled_email, event_type) index from each email sent in the period measured about twice as fast with
    800,000 email rows and 1.1 million events, and does not grow with the size of the events table.
    Transaction-local settings, switched back on right after.
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(_PLANNER_SQL.format(value="off"))
        try:
            yield
        finally:
            cursor.execute(_PLANNER_SQL.format(value="on"))


def _rate(part: int | None, whole: int | None) -> float | None:
    if not whole:
        return None
    return (part or 0) / whole


# ---------------------------------------------------------------- days summed up vs. counted live

Range = tuple[datetime, datetime]  # [since, until)
# Today and yesterday are always counted live: their events are still pouring in (see dashboard/services.py).
OPEN_DAYS = 2


def day_range(day: date) -> Range:
    since = datetime.combine(day, time.min, tzinfo=UTC)
    return since, since + timedelta(days=1)


def day_ranges(days: list[date]) -> list[Range]:
    """Whole UTC days as the fewest [since, until) ranges (consecutive days merged)."""
    ranges: list[Range] = []
    for day in sorted(set(days)):
        since, until = day_range(day)
        if ranges and ranges[-1][1] == since:
            ranges[-1] = (ranges[-1][0], until)
        else:
            ranges.append((since, until))
    return ranges


def in_ranges(lookup: str, ranges: list[Range]) -> Q:
    """`lookup` in any of the ranges; no range matches nothing."""
    if not ranges:
        return Q(pk__in=[])
    q = Q()
    for since, until in ranges:
        q |= Q(**{f"{lookup}__gte": since, f"{lookup}__lt": until})
    return q


def rolled_days(start: date, end: date, *, today: date | None = None) -> set[date]:
    """The closed days of [start, end] whose rollup is built: the dashboard reads these from the rollup."""
    last_closed = (today or timezone.now().date()) - timedelta(days=OPEN_DAYS)
    if start > last_closed:
        return set()
    return set(RollupDay.objects.filter(day__gte=start, day__lte=min(end, last_closed)).values_list("day", flat=True))


def split_days(start: date, end: date, *, rolled: set[date] | None = None) -> tuple[list[date], list[Range]]:
    """The days of [start, end] read from the rollup, and the others as ranges to count live.

    `rolled` is rolled_days() of a range covering this one, when the caller already has it (one query saved).
    """
    if rolled is None:
        rolled = rolled_days(start, end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if day in rolled], day_ranges([day for day in days if day not in rolled])


# ---------------------------------------------------------------- funnel


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


def _visits_q(filters: DashboardFilters) -> Q:
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

    visits = (
        DailyVisit.objects.filter(_visits_q(filters) | _visits_q(previous))
        .annotate(period=Case(When(date__gte=filters.start, then=Value("cur")), default=Value("prev")))
        .values("period", "utm_source", "utm_campaign")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for item in visits:
        counts[f"{item['period']}_visits"] += item["n"] or 0
        if item["period"] == "cur":
            key = (item["utm_source"], item["utm_campaign"])
            sources.setdefault(key, SourceRow(utm_source=key[0], utm_campaign=key[1])).visits += item["n"] or 0

    if rolled_in:
        # Welcome opens of the leads who signed up on the days already summed up (the live query skipped them).
        opened = (
            SignupDayCount.objects.filter(filters.utm_q(), day__in=rolled_in)
            .annotate(period=Case(When(day__gte=filters.start, then=Value("cur")), default=Value("prev")))
            .values("period", "utm_source", "utm_campaign")
            .annotate(n=Sum("welcome_opened"))
            .order_by()
        )
        for item in opened:
            counts[f"{item['period']}_welcome_opened"] += item["n"] or 0
            if item["period"] == "cur":
                key = (item["utm_source"], item["utm_campaign"])
                row = sources.setdefault(key, SourceRow(utm_source=key[0], utm_campaign=key[1]))
                row.welcome_opened += item["n"] or 0

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
                rate_from_previous=None if before is None else _rate(count, before),
                rate_from_top=_rate(count, top),
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


# ---------------------------------------------------------------- per email


@dataclass
class EmailRow:
    step: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    upgrade_clicks: int = 0
    machine_clicked: int = 0  # emails whose links a mailbox scanner or bot opened (not in the two above)
    purchases: int = 0
    gross_cents: int = 0
    net_cents: int = 0
    unsubscribes: int = 0
    bounces: int = 0
    complaints: int = 0

    def rate(self, name: str) -> float | None:
        return _rate(getattr(self, name), self.sent)


EMAIL_EVENT_COLUMNS = {"delivered": "delivered", "opened": "opened", "bounced": "bounces", "complained": "complaints"}


def sequence_sent_in(ranges: list[Range], prefix: str = "") -> Q:
    """Sequence emails sent in these ranges, seen from a model reaching ScheduledEmail through `prefix`."""
    return in_ranges(f"{prefix}sent_at", ranges) & Q(
        **{f"{prefix}stream": ScheduledEmail.Stream.MARKETING, f"{prefix}step__in": SEQUENCE_STEPS}
    )


def _sent_in(filters: DashboardFilters, prefix: str = "", *, ranges: list[Range] | None = None) -> Q:
    """Sequence emails sent in the period (or in `ranges` of it) to leads matching the UTM filters (joined)."""
    period = [(filters.since, filters.until)] if ranges is None else ranges
    return filters.utm_q(f"{prefix}lead__") & sequence_sent_in(period, prefix)


ROLLED_EMAIL_COLUMNS = ("sent", "delivered", "opened", "bounces", "complaints", "clicked", "upgrade_clicks",
                        "machine_clicked")


def email_counts(sent: Callable[[str], Q], *, clicked_since: datetime | None,
                 by: tuple[str, ...] = ("step",)) -> list[dict[str, Any]]:
    """Sent, event and click counts of the emails matching `sent(prefix)` (a ScheduledEmail condition), grouped.

    `by` names ScheduledEmail fields or lookups ("step", "lead__utm_source", "day" = the UTC day it was sent); the
    rows carry the ROLLED_EMAIL_COLUMNS. The live dashboard and the daily rollup both count through this function,
    so the two cannot drift apart. Three queries.
    """
    via_email = "scheduled_email__"

    def grouped(qs: QuerySet[Any], prefix: str) -> QuerySet[Any]:
        fields = {f"g_{name}": TruncDate(f"{prefix}sent_at", tzinfo=UTC) if name == "day" else F(f"{prefix}{name}")
                  for name in by}
        return qs.annotate(**fields).values(*fields)

    rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(item: dict[str, Any]) -> dict[str, Any]:
        key = tuple(item[f"g_{name}"] for name in by)
        if key not in rows:
            rows[key] = {**dict(zip(by, key, strict=True)), **dict.fromkeys(ROLLED_EMAIL_COLUMNS, 0)}
        return rows[key]

    for item in grouped(ScheduledEmail.objects.filter(sent("")), "").annotate(n=Count("pk")).order_by():
        row(item)["sent"] = item["n"]

    # Several events of one kind on one email (two opens) count once: distinct emails.
    events_by_kind = (
        grouped(EmailEvent.objects.filter(sent(via_email), event_type__in=EMAIL_EVENT_COLUMNS), via_email)
        .annotate(event_type_=F("event_type"), n=Count("scheduled_email_id", distinct=True))
        .order_by()
    )
    with nested_loop_joins():
        events = list(events_by_kind)
    for item in events:
        row(item)[EMAIL_EVENT_COLUMNS[item["event_type_"]]] = item["n"]

    # A click comes after its email was sent: on the live path a redundant but cheap bound on an indexed column.
    clicks = Click.objects.filter(sent(via_email))
    if clicked_since is not None:
        clicks = clicks.filter(created_at__gte=clicked_since)
    human = Q(machine=Click.Machine.HUMAN)  # scanners' clicks are shown apart, never credited (emails/clicks.py)
    for item in grouped(clicks, via_email).annotate(
        any=Count("scheduled_email_id", distinct=True, filter=human),
        upgrade=Count("scheduled_email_id", distinct=True, filter=human & Q(target=Click.Target.UPGRADE)),
        machine=Count("scheduled_email_id", distinct=True, filter=~human),
    ).order_by():
        row(item).update(clicked=item["any"], upgrade_clicks=item["upgrade"], machine_clicked=item["machine"])
    return list(rows.values())


def per_email(filters: DashboardFilters, *, rolled: set[date] | None = None) -> list[EmailRow]:
    """One row per sequence email sent in the period (seven queries in all).

    Sent, events and clicks of the days already summed up come from the daily rollup; only the other days (today,
    yesterday, any day not built yet) are counted from the email tables.
    """
    rows = {step: EmailRow(step=step) for step in SEQUENCE_STEPS}
    via_email = "scheduled_email__"
    rolled_in, live = split_days(filters.start, filters.end, rolled=rolled)

    counted: list[dict[str, Any]] = []
    if live:
        # A click follows its email's send: clicks before the first live day cannot be on a live day's email.
        counted += email_counts(lambda prefix: _sent_in(filters, prefix, ranges=live),
                                clicked_since=max(filters.since, live[0][0]))
    if rolled_in:
        counted += EmailDayCount.objects.filter(filters.utm_q(), day__in=rolled_in).values("step").annotate(
            **{name: Sum(name) for name in ROLLED_EMAIL_COLUMNS}
        ).order_by()
    for item in counted:
        row = rows.get(item["step"])
        if row is not None:
            for name in ROLLED_EMAIL_COLUMNS:
                setattr(row, name, getattr(row, name) + (item[name] or 0))

    # Unsubscribes the ESP reported, for people who did not (also) use our own link: those are counted below.
    esp_unsubscribes = (
        EmailEvent.objects.filter(_sent_in(filters, via_email), event_type="unsubscribed",
                                  scheduled_email__lead__unsubscribed_at__isnull=True)
        .values("scheduled_email__step")
        .annotate(n=Count("scheduled_email_id", distinct=True))
    )
    for item in esp_unsubscribes:
        rows[item["scheduled_email__step"]].unsubscribes += item["n"]

    # A purchase comes after its email was sent: a redundant but cheap bound on an indexed column.
    purchases = (
        Purchase.objects.filter(_sent_in(filters, via_email), status__in=PAID_STATUSES, created_at__gte=filters.since)
        .values("scheduled_email__step")
        .annotate(
            n=Count("pk"),
            gross=Sum("amount_cents"),
            refunded=Sum("amount_cents", filter=Q(status=Purchase.Status.REFUNDED)),
        )
    )
    for item in purchases:
        row = rows[item["scheduled_email__step"]]
        row.purchases = item["n"]
        row.gross_cents = item["gross"] or 0
        row.net_cents = row.gross_cents - (item["refunded"] or 0)

    # Our own unsubscribes, credited to the last sequence email sent before the unsubscribe. Only people who
    # unsubscribed after the period began can be credited to an email sent in it.
    last_email = ScheduledEmail.objects.filter(
        lead=OuterRef("pk"),
        stream=ScheduledEmail.Stream.MARKETING,
        step__in=SEQUENCE_STEPS,
        sent_at__isnull=False,
        sent_at__lte=OuterRef("unsubscribed_at"),
    ).order_by("-sent_at")
    unsubscribed = (
        Lead.objects.filter(filters.utm_q(), unsubscribed_at__gte=filters.since)
        .annotate(last_step=Subquery(last_email.values("step")[:1]),
                  last_sent_at=Subquery(last_email.values("sent_at")[:1]))
        .filter(last_sent_at__gte=filters.since, last_sent_at__lt=filters.until)
        .values("last_step")
        .annotate(n=Count("pk"))
    )
    for item in unsubscribed:
        rows[item["last_step"]].unsubscribes += item["n"]

    return [rows[step] for step in SEQUENCE_STEPS]


# ---------------------------------------------------------------- cohorts


@dataclass
class CohortRow:
    week: date
    signups: int
    buyers_by_day: dict[int, int] = field(default_factory=dict)
    complete_by_day: dict[int, bool] = field(default_factory=dict)

    def share(self, days: int) -> float | None:
        return _rate(self.buyers_by_day.get(days, 0), self.signups)


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


# ---------------------------------------------------------------- per source


@dataclass
class SourceRow:
    utm_source: str
    utm_campaign: str
    visits: int = 0
    signups: int = 0
    confirmed: int = 0
    welcome_opened: int = 0
    upgrade_clicked: int = 0
    checkout_started: int = 0
    paid: int = 0
    refunded: int = 0
    gross_cents: int = 0
    net_cents: int = 0

    @property
    def signup_rate(self) -> float | None:
        return _rate(self.signups, self.visits)

    @property
    def paid_rate(self) -> float | None:
        return _rate(self.paid, self.signups)


SOURCE_SORT_KEYS = [
    "utm_source", "utm_campaign", "visits", "signups", "confirmed", "welcome_opened", "upgrade_clicked",
    "checkout_started", "paid", "refunded", "net_cents", "signup_rate", "paid_rate",
]


def sort_sources(rows: list[SourceRow], sort: str) -> list[SourceRow]:
    """Sort by any column, "-" first for descending; empty rates go last whichever the direction."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SOURCE_SORT_KEYS:
        name, descending = "signups", True

    def sort_key(row: SourceRow) -> tuple[bool, Any]:
        value = getattr(row, name)
        return (value is None) != descending, value if value is not None else 0

    return sorted(rows, key=sort_key, reverse=descending)


# ---------------------------------------------------------------- conversion over time


@dataclass
class DayPoint:
    day: date
    visits: int
    signups: int
    buyers: int

    @property
    def signup_rate(self) -> float | None:
        return _rate(self.signups, self.visits)

    @property
    def paid_rate(self) -> float | None:
        return _rate(self.buyers, self.signups)


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
        for item in DailyVisit.objects.filter(_visits_q(filters)).values("date").annotate(n=Sum("count"))
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

"""The deliverability panel: per day, stream and mailbox provider, what was sent and what became of it.

Definitions (shown on the page):
- Each figure counts on the UTC day it happened (funnel/models/rollups.py, DeliverabilityDayCount): sent on the day
  the email went to the ESP; delivered, hard and soft bounces and complaints on the day the ESP reports them (each
  email once per kind and day); unsubscribes on the day the reader unsubscribed, with our link or at the ESP.
- Rates: bounces over sent; complaints and unsubscribes over delivered (what Gmail and Yahoo measure), or over sent
  on days the ESP reported no deliveries (no delivery webhook configured).
- Provider: by the recipient's domain, and for custom domains by their MX host (emails/deliverability/providers.py).
- Thresholds (emails/deliverability/thresholds.py): complaints 0.1 % warn, 0.3 % stop; hard bounces 2 % warn.

Every day comes from the daily rollup, today and yesterday included while their build is recent: beat's refresh
rebuilds them every 5 minutes (dashboard/services.py), so they are at most that old, like the dashboard's own cache.
Only a day without a recent build (beat down, a fresh `make run`) is counted live, by the same function
(deliverability_counts). So the panel reads a few hundred rollup rows, never the mail and events of its days: rates
need no up-to-the-minute precision, and counting two busy days of events costs more than the rest of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Func, Q, Value
from django.db.models.functions import Lower, StrIndex, Substr, TruncDate

from emails.deliverability import thresholds
from emails.deliverability.models import MailboxProvider
from emails.deliverability.providers import providers_for
from emails.models import EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import nested_loop_joins, rate
from funnel.dashboard.selectors.days import Range, in_ranges, read_days, split_days
from funnel.models import DeliverabilityDayCount
from leads.models import Lead

COUNT_COLUMNS = ("sent", "delivered", "hard_bounces", "soft_bounces", "complaints", "unsubscribes")
STREAMS: tuple[str, ...] = (ScheduledEmail.Stream.MARKETING.value, ScheduledEmail.Stream.TRANSACTIONAL.value)
PROVIDERS = [choice.value for choice in MailboxProvider]
CHART_DAYS = 30


@dataclass
class Counts:
    sent: int = 0
    delivered: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0

    def add(self, other: Counts | dict[str, Any]) -> None:
        for name in COUNT_COLUMNS:
            value = other[name] if isinstance(other, dict) else getattr(other, name)
            setattr(self, name, getattr(self, name) + (value or 0))

    @property
    def hard_bounce_rate(self) -> float | None:
        return rate(self.hard_bounces, self.sent)

    @property
    def soft_bounce_rate(self) -> float | None:
        return rate(self.soft_bounces, self.sent)

    @property
    def complaint_rate(self) -> float | None:
        return rate(self.complaints, self.delivered or self.sent)

    @property
    def unsubscribe_rate(self) -> float | None:
        return rate(self.unsubscribes, self.delivered or self.sent)

    @property
    def status(self) -> str:
        return thresholds.rate_status(complaint_rate=self.complaint_rate, hard_bounce_rate=self.hard_bounce_rate)

    @property
    def status_note(self) -> str:
        return thresholds.rate_status_note(complaint_rate=self.complaint_rate,
                                           hard_bounce_rate=self.hard_bounce_rate)


@dataclass
class RateRow(Counts):
    stream: str = ""
    provider: str = ""  # "" = every provider of the stream

    @property
    def provider_label(self) -> str:
        return MailboxProvider(self.provider).label if self.provider else "All providers"


@dataclass
class DayRates:
    day: date
    streams: dict[str, Counts]


@dataclass
class Deliverability:
    rows: list[RateRow]  # the period: per stream, its total first, then each provider
    days: list[DayRates]  # the CHART_DAYS days up to the period's end, per stream


def _recipient_domain(email: str) -> Func:
    """The part after the @ of an email column, lower-cased, in SQL (both databases)."""
    return Lower(Substr(F(email), StrIndex(F(email), Value("@")) + 1))


def deliverability_counts(ranges: list[Range], *, resolve_providers: bool) -> list[dict[str, Any]]:
    """Rows of {day, stream, provider, *COUNT_COLUMNS} for what happened in these ranges. Three queries, plus (with
    `resolve_providers`, the rollup's background build) MX lookups of custom domains not seen before."""
    by_domain: dict[tuple[date, str, str], Counts] = {}

    def counts(day: date, stream: str, domain: str | None) -> Counts:
        return by_domain.setdefault((day, stream, domain or ""), Counts())

    # Written per stream, so PostgreSQL can read each stream's partial index on sent_at (a BitmapOr of the two).
    each_stream = Q()
    for stream in STREAMS:
        each_stream |= Q(stream=stream) & in_ranges("sent_at", ranges)
    sent = (ScheduledEmail.objects.filter(each_stream)
            .annotate(d=TruncDate("sent_at", tzinfo=UTC), domain=_recipient_domain("lead__email"))
            .values("d", "stream", "domain").annotate(n=Count("pk")).order_by())
    for item in sent:
        counts(item["d"], item["stream"], item["domain"]).sent += item["n"]

    email = "scheduled_email_id"
    ours = Q(scheduled_email__lead__unsubscribed_at__isnull=False)  # counted below, from our own records
    events_by_kind = (EmailEvent.objects.filter(in_ranges("occurred_at", ranges), scheduled_email__isnull=False)
              .annotate(d=TruncDate("occurred_at", tzinfo=UTC), stream=F("scheduled_email__stream"),
                        domain=_recipient_domain("scheduled_email__lead__email"))
              .values("d", "stream", "domain")
              .annotate(delivered=Count(email, distinct=True, filter=Q(event_type="delivered")),
                        hard_bounces=Count(email, distinct=True, filter=Q(bounce=EmailEvent.Bounce.HARD)),
                        soft_bounces=Count(email, distinct=True, filter=Q(bounce=EmailEvent.Bounce.SOFT)),
                        complaints=Count(email, distinct=True, filter=Q(event_type="complained")),
                        unsubscribes=Count("scheduled_email__lead_id", distinct=True,
                                           filter=Q(event_type="unsubscribed") & ~ours))
              .order_by())
    with nested_loop_joins():  # each event finds its email and lead by primary key, never hashing the tables
        events = list(events_by_kind)
    for item in events:
        counts(item["d"], item["stream"], item["domain"]).add({**item, "sent": 0})

    unsubscribed = (Lead.objects.filter(in_ranges("unsubscribed_at", ranges))
                    .annotate(d=TruncDate("unsubscribed_at", tzinfo=UTC), domain=_recipient_domain("email"))
                    .values("d", "domain").annotate(n=Count("pk")).order_by())
    for item in unsubscribed:
        counts(item["d"], ScheduledEmail.Stream.MARKETING.value, item["domain"]).unsubscribes += item["n"]

    provider_of = providers_for({domain for _, _, domain in by_domain}, resolve=resolve_providers)
    rows: dict[tuple[date, str, str], Counts] = {}
    for (day, stream, domain), figures in by_domain.items():
        rows.setdefault((day, stream, provider_of.get(domain, MailboxProvider.OTHER)), Counts()).add(figures)
    return [{"day": day, "stream": stream, "provider": provider,
             **{name: getattr(figures, name) for name in COUNT_COLUMNS}}
            for (day, stream, provider), figures in rows.items()]


def chart_start(end: date) -> date:
    return end - timedelta(days=CHART_DAYS - 1)


def deliverability_rates(start: date, end: date, *, now: datetime | None = None) -> Deliverability:
    """The panel's figures: the period [start, end] per stream and provider, and the CHART_DAYS days to `end`.
    Two queries, plus three when a day has no recent build."""
    first_chart_day = chart_start(end)
    first = min(start, first_chart_day)
    rolled_in, live = split_days(first, end, rolled=read_days(first, end, now=now))
    found: list[dict[str, Any]] = list(
        DeliverabilityDayCount.objects.filter(day__in=rolled_in).values("day", "stream", "provider", *COUNT_COLUMNS))
    if live:
        found += deliverability_counts(live, resolve_providers=False)

    period = {(stream, provider): RateRow(stream=stream, provider=provider)
              for stream in STREAMS for provider in ["", *PROVIDERS]}
    days = {first_chart_day + timedelta(days=n): DayRates(first_chart_day + timedelta(days=n),
                                                          {stream: Counts() for stream in STREAMS})
            for n in range(CHART_DAYS)}
    for item in found:
        if item["stream"] not in STREAMS:
            continue
        if start <= item["day"] <= end:
            period[(item["stream"], "")].add(item)
            period[(item["stream"], item["provider"])].add(item)
        if item["day"] in days:
            days[item["day"]].streams[item["stream"]].add(item)
    return Deliverability(rows=list(period.values()), days=list(days.values()))

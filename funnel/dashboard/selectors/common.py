"""What every section of the dashboard shares: the filters, the reporting transaction, the paid statuses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from emails.models import Click
from funnel.models import Purchase

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


def rate(part: int | None, whole: int | None) -> float | None:
    if not whole:
        return None
    return (part or 0) / whole



class CreditedRow(Protocol):
    """A report row that is credited with what readers did through its emails' own signed links."""

    clicked: int
    upgrade_clicks: int
    purchases: int
    gross_cents: int
    net_cents: int


def credit_clicks_and_purchases(rows: Mapping[Any, CreditedRow], *, emails: Q, key: str) -> None:
    """Credit each row with the human clicks (any link, the upgrade link) and the paid purchases made through the
    emails `emails` selects (a filter on `scheduled_email__…`), grouped by the row email's field `key`: two queries
    for every row at once. Scanners' clicks never count; net revenue is gross minus refunds."""
    group = f"scheduled_email__{key}"
    clicks = (Click.objects.filter(emails, machine=Click.Machine.HUMAN).values(group)
              .annotate(any=Count("scheduled_email_id", distinct=True),
                        upgrade=Count("scheduled_email_id", distinct=True, filter=Q(target=Click.Target.UPGRADE)))
              .order_by())
    for item in clicks:
        row = rows[item[group]]
        row.clicked, row.upgrade_clicks = item["any"], item["upgrade"]
    purchases = (Purchase.objects.filter(emails, status__in=PAID_STATUSES).values(group)
                 .annotate(buyers=Count("scheduled_email_id", distinct=True), gross=Sum("amount_cents"),
                           refunded=Sum("amount_cents", filter=Q(status=Purchase.Status.REFUNDED)))
                 .order_by())
    for item in purchases:
        row = rows[item[group]]
        row.purchases = item["buyers"]
        row.gross_cents = item["gross"] or 0
        row.net_cents = row.gross_cents - (item["refunded"] or 0)

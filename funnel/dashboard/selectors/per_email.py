"""Per sequence email: sent, events, clicks, purchases credited through its signed links, unsubscribes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from emails.models import SEQUENCE_STEPS, Click, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import PAID_STATUSES, DashboardFilters, nested_loop_joins, rate
from funnel.dashboard.selectors.days import Range, in_ranges, split_days
from funnel.models import EmailDayCount, Purchase
from leads.models import Lead


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
        return rate(getattr(self, name), self.sent)


EMAIL_EVENT_COLUMNS = {"delivered": "delivered", "opened": "opened", "bounced": "bounces", "complained": "complaints"}


def sequence_sent_in(ranges: list[Range], prefix: str = "") -> Q:
    """Sequence emails sent in these ranges, seen from a model reaching ScheduledEmail through `prefix`."""
    return in_ranges(f"{prefix}sent_at", ranges) & Q(
        **{f"{prefix}stream": ScheduledEmail.Stream.MARKETING, f"{prefix}step__in": SEQUENCE_STEPS}
    )


ROLLED_EMAIL_COLUMNS = ("sent", "delivered", "opened", "bounces", "complaints", "clicked", "upgrade_clicks",
                        "machine_clicked", "purchases", "gross_cents", "refunded_cents", "unsubscribes")


def email_counts(ranges: list[Range], *, utm: DashboardFilters | None = None, clicked_since: datetime | None,
                 by: tuple[str, ...] = ("step",)) -> list[dict[str, Any]]:
    """Every per-email figure of the sequence emails sent in these ranges (to leads matching `utm`'s values), grouped.

    `by` names ScheduledEmail fields or lookups ("step", "lead__utm_source", "day" = the UTC day it was sent); the
    rows carry the ROLLED_EMAIL_COLUMNS. The live dashboard and the daily rollup both count through this function,
    so the two cannot drift apart. Six queries.
    """
    via_email = "scheduled_email__"

    def sent(prefix: str) -> Q:
        return (utm.utm_q(f"{prefix}lead__") if utm else Q()) & sequence_sent_in(ranges, prefix)

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

    refunded = Q(status=Purchase.Status.REFUNDED)
    purchases = grouped(Purchase.objects.filter(sent(via_email), status__in=PAID_STATUSES), via_email).annotate(
        n=Count("pk"), gross=Sum("amount_cents"), refunded=Sum("amount_cents", filter=refunded)).order_by()
    for item in purchases:
        row(item).update(purchases=item["n"], gross_cents=item["gross"] or 0, refunded_cents=item["refunded"] or 0)

    # Unsubscribes the ESP reported, for people who did not (also) use our own link: those are counted below.
    esp_unsubscribes = grouped(EmailEvent.objects.filter(sent(via_email), event_type="unsubscribed",
                                                         scheduled_email__lead__unsubscribed_at__isnull=True),
                               via_email).annotate(n=Count("scheduled_email_id", distinct=True)).order_by()
    for item in esp_unsubscribes:
        row(item)["unsubscribes"] += item["n"]

    # Our own unsubscribes, credited to the last sequence email sent before the unsubscribe. Only people who
    # unsubscribed after the first range began can be credited to an email sent in these ranges.
    last_email = ScheduledEmail.objects.filter(
        lead=OuterRef("pk"),
        stream=ScheduledEmail.Stream.MARKETING,
        step__in=SEQUENCE_STEPS,
        sent_at__isnull=False,
        sent_at__lte=OuterRef("unsubscribed_at"),
    ).order_by("-sent_at")
    last = {f"g_{name}": TruncDate("last_sent_at", tzinfo=UTC) if name == "day" else
            F("last_step") if name == "step" else F(name.removeprefix("lead__")) for name in by}
    unsubscribed = (
        Lead.objects.filter(utm.utm_q() if utm else Q(), unsubscribed_at__gte=ranges[0][0])
        .annotate(last_step=Subquery(last_email.values("step")[:1]),
                  last_sent_at=Subquery(last_email.values("sent_at")[:1]))
        .filter(in_ranges("last_sent_at", ranges))
        .annotate(**last).values(*last).annotate(n=Count("pk")).order_by()
    )
    for item in unsubscribed:
        row(item)["unsubscribes"] += item["n"]
    return list(rows.values())


def per_email(filters: DashboardFilters, *, rolled: set[date] | None = None) -> list[EmailRow]:
    """One row per sequence email sent in the period.

    The days already summed up come from the daily rollup (one query); only the other days (today, yesterday, any
    day not built yet) are counted from the email tables, by the same function as the rollup (email_counts).
    """
    rows = {step: EmailRow(step=step) for step in SEQUENCE_STEPS}
    rolled_in, live = split_days(filters.start, filters.end, rolled=rolled)

    counted: list[dict[str, Any]] = []
    if live:
        # A click follows its email's send: clicks before the first live day cannot be on a live day's email.
        counted += email_counts(live, utm=filters, clicked_since=max(filters.since, live[0][0]))
    if rolled_in:
        counted += EmailDayCount.objects.filter(filters.utm_q(), day__in=rolled_in).values("step").annotate(
            **{name: Sum(name) for name in ROLLED_EMAIL_COLUMNS}
        ).order_by()
    for item in counted:
        row = rows.get(item["step"])
        if row is not None:
            for name in ROLLED_EMAIL_COLUMNS:
                if name != "refunded_cents":
                    setattr(row, name, getattr(row, name) + (item[name] or 0))
            row.net_cents += (item["gross_cents"] or 0) - (item["refunded_cents"] or 0)
    return [rows[step] for step in SEQUENCE_STEPS]

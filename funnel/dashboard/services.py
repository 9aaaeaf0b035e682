"""Keeping the dashboard's daily rollup (funnel/models/rollups.py) up to date.

What is summed up, and by which day:
- EmailDayCount: per sequence email, by the UTC day the email was *sent* (the per-email table's definition): sent,
  and the emails with a delivered / opened / bounced / complained event or a click, whenever those came.
- SignupDayCount: the leads who opened their welcome email, by the UTC day the lead *signed up* (the funnel's
  cohort definition).
- DeliverabilityDayCount: per stream and mailbox provider, each figure on the day it *happened* (sent, the ESP's
  delivery, bounce and complaint events, unsubscribes); custom recipient domains get their MX host looked up here,
  in the background, once (emails/deliverability/providers.py).

Both are counted by the same selector code as the live dashboard (selectors.email_counts, step_conditions), so a
built day gives the same numbers as counting it live. Purchases, refunds and unsubscribes are not summed up: they
change long after the day (a refund weeks later) and are cheap to count live.

Late events: an open or a click can arrive days after the send. Three things keep closed days exact:
1. the dashboard never reads today and yesterday (selectors.OPEN_DAYS) from the rollup;
2. rollup_refresh (every 5 minutes, beat: config/settings.py) rebuilds the last REFRESH_WINDOW_DAYS days *and*
   every older day that a new event or click belongs to (rows above the cursors in RollupCursor): its email's sent
   day and, for a welcome open, its lead's signup day, whatever their age. A closed day is therefore at most one
   refresh interval behind, like the dashboard's own 5-minute cache;
3. a daily rebuild of the last 90 days (beat) repairs what the cursors cannot see (a deleted lead, an edited row).
A day not built yet (beat down, a range older than the rollup) is simply counted live: slower, never wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from emails.models import Click, EmailEvent
from funnel.dashboard import selectors
from funnel.models import DeliverabilityDayCount, EmailDayCount, RollupCursor, RollupDay, SignupDayCount
from leads.models import Lead

logger = logging.getLogger(__name__)

# Rebuilt on every refresh whatever the cursors say: the open days plus one, so a day is rebuilt at least once
# after it closes (and anything a cursor missed, e.g. a sent_at set late by reconciliation, is caught).
REFRESH_WINDOW_DAYS = selectors.OPEN_DAYS + 1
REBUILD_CHUNK_DAYS = 7
_LOCK_KEY = 7_070_707  # pg_advisory_xact_lock: one rebuild at a time, so two refreshes never interleave
UTM = ("utm_source", "utm_medium", "utm_campaign")


@transaction.atomic
def rollup_rebuild(*, days: Iterable[date], now: datetime | None = None) -> int:
    """(Re)build the rollup rows of these UTC days from the source tables; idempotent. Returns the days built.

    Each day's rows are replaced as a whole in one transaction (readers see the old rows or the new ones), so a
    combination that no longer occurs disappears too.
    """
    day_list = sorted(set(days))
    if not day_list:
        return 0
    now = now or timezone.now()
    _lock()
    ranges = selectors.day_ranges(day_list)

    email_rows = selectors.email_counts(lambda prefix: selectors.sequence_sent_in(ranges, prefix), clicked_since=None,
                                        by=("day", "step", *(f"lead__{name}" for name in UTM)))
    EmailDayCount.objects.filter(day__in=day_list).delete()
    EmailDayCount.objects.bulk_create(
        [EmailDayCount(**{name.removeprefix("lead__"): value for name, value in row.items()}) for row in email_rows],
        batch_size=1000,
    )

    welcome_opened = selectors.step_conditions(ranges[0][0], ranges[-1][1], live=ranges)["welcome_opened"]
    signup_rows = (
        Lead.objects.filter(welcome_opened)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", *UTM)
        .annotate(n=Count("pk"))
        .order_by()
    )
    SignupDayCount.objects.filter(day__in=day_list).delete()
    SignupDayCount.objects.bulk_create(
        [SignupDayCount(day=row["day"], welcome_opened=row["n"], **{name: row[name] for name in UTM})
         for row in signup_rows],
        batch_size=1000,
    )
    delivery_rows = selectors.deliverability_counts(ranges, resolve_providers=True)
    DeliverabilityDayCount.objects.filter(day__in=day_list).delete()
    DeliverabilityDayCount.objects.bulk_create([DeliverabilityDayCount(**row) for row in delivery_rows],
                                               batch_size=1000)
    RollupDay.objects.bulk_create([RollupDay(day=day, built_at=now) for day in day_list],
                                  update_conflicts=True, unique_fields=["day"], update_fields=["built_at"])
    return len(day_list)


def rollup_rebuild_recent(*, days: int, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the last `days` days, today included, a week per transaction (short locks). Returns the days built."""
    today = timezone.now().date()
    day_list = [today - timedelta(days=n) for n in range(days)]
    built = 0
    for first in range(0, len(day_list), REBUILD_CHUNK_DAYS):
        built += rollup_rebuild(days=day_list[first:first + REBUILD_CHUNK_DAYS])
        if on_progress:
            on_progress(built, len(day_list))
    return built


@transaction.atomic
def rollup_refresh(*, now: datetime | None = None) -> int:
    """Rebuild the recent days and every day touched by an event or click since the last refresh.

    The first refresh (cursors at 0) sees every event, so it builds every day that has mail.
    """
    now = now or timezone.now()
    _lock()  # before reading the cursors: a concurrent refresh waits, then starts from where this one ends
    today = now.date()
    days = {today - timedelta(days=n) for n in range(REFRESH_WINDOW_DAYS)}
    cursors = {name: RollupCursor.objects.get_or_create(name=name)[0] for name in ("events", "clicks")}

    # From the mark before the last one: see RollupCursor for the rows committed late.
    events = EmailEvent.objects.filter(pk__gt=cursors["events"].previous_id)
    clicks = Click.objects.filter(pk__gt=cursors["clicks"].previous_id)
    high = {"events": events.aggregate(m=Max("pk"))["m"], "clicks": clicks.aggregate(m=Max("pk"))["m"]}
    events, clicks = events.filter(pk__lte=high["events"] or 0), clicks.filter(pk__lte=high["clicks"] or 0)
    days |= _days_of(events, "scheduled_email__sent_at")
    days |= _days_of(events.filter(event_type="opened", scheduled_email__step="welcome"),
                     "scheduled_email__lead__created_at")
    days |= _days_of(clicks, "scheduled_email__sent_at")
    days |= _days_of(events, "occurred_at")  # the deliverability rollup's day for an event (a late webhook)

    built = rollup_rebuild(days=days, now=now)
    for name, cursor in cursors.items():
        cursor.previous_id, cursor.last_id = cursor.last_id, max(high[name] or 0, cursor.last_id)
        cursor.save(update_fields=["previous_id", "last_id"])
    logger.info("dashboard rollup refreshed days=%s", built)
    return built


def _lock() -> None:
    """One rebuild or refresh at a time (transaction-scoped, re-entrant), so two never interleave their rows."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _days_of(rows: QuerySet[Any], moment: str) -> set[date]:
    """The distinct UTC days of `moment` over these rows."""
    days = rows.exclude(**{f"{moment}__isnull": True}).annotate(d=TruncDate(moment, tzinfo=UTC))
    return set(days.values_list("d", flat=True).distinct())

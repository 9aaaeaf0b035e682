"""Keeping the dashboard's daily rollup (funnel/models/rollups.py) up to date.

What is summed up, and by which day:
- EmailDayCount: per sequence email, by the UTC day the email was *sent* (the per-email table's definition): sent,
  the emails with a delivered / opened / bounced / complained event or a click, the purchases made through their
  links (and refunds), and the unsubscribes credited to them, whenever those came.
- SignupDayCount: the signup cohort by the UTC day the lead *signed up* (the funnel's cohort definition): every
  funnel step, revenue, time to first purchase, paid within N days (selectors/signups.py).
- DeliverabilityDayCount: per stream and mailbox provider, each figure on the day it *happened* (sent, the ESP's
  delivery, bounce and complaint events, unsubscribes); custom recipient domains get their MX host looked up here,
  in the background, once (emails/deliverability/providers.py).

Each is counted by the same selector code as the live dashboard (selectors.email_counts, signup_counts,
deliverability_counts), so a built day gives the same numbers as counting it live.

Late events: an open or a click can arrive days after the send. Three things keep closed days exact:
1. the dashboard never reads today and yesterday (selectors.OPEN_DAYS) from the rollup;
2. rollup_refresh (every 5 minutes, beat: config/settings.py) rebuilds the last REFRESH_WINDOW_DAYS days *and*
   every older day that a new event, click, checkout or purchase belongs to (rows above the id cursors in
   RollupCursor), or a refund, dispute, review, confirmation or unsubscribe since the time cursor: its email's sent
   day and its lead's signup day, whatever their age. A closed day is therefore at most one refresh interval
   behind, like the dashboard's own 5-minute cache;
3. a daily rebuild of the last 90 days (beat) repairs what the cursors cannot see (a deleted lead, an edited row,
   a resubscribe).
A day not built yet (beat down, a range older than the rollup) is simply counted live: slower, never wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard import selectors
from funnel.models import (
    CheckoutSession,
    DeliverabilityDayCount,
    EmailDayCount,
    Purchase,
    RollupCursor,
    RollupDay,
    SignupDayCount,
)
from leads.models import Lead

logger = logging.getLogger(__name__)

# Rebuilt on every refresh whatever the cursors say: the open days plus one, so a day is rebuilt at least once
# after it closes (and anything a cursor missed, e.g. a sent_at set late by reconciliation, is caught).
REFRESH_WINDOW_DAYS = selectors.OPEN_DAYS + 1
REBUILD_CHUNK_DAYS = 7
_LOCK_KEY = 7_070_707  # pg_advisory_xact_lock: one rebuild at a time, so two refreshes never interleave
UTM = ("utm_source", "utm_medium", "utm_campaign")
# New rows found by id above a cursor; MOMENTS is a cursor of times (microseconds since the epoch) for rows that
# change in place.
ID_CURSORS: dict[str, Any] = {"events": EmailEvent, "clicks": Click, "purchases": Purchase,
                              "checkouts": CheckoutSession}
MOMENTS = "moments"


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

    email_rows = selectors.email_counts(ranges, clicked_since=None,
                                        by=("day", "step", *(f"lead__{name}" for name in UTM)))
    EmailDayCount.objects.filter(day__in=day_list).delete()
    EmailDayCount.objects.bulk_create(
        [EmailDayCount(**{name.removeprefix("lead__"): value for name, value in row.items()}) for row in email_rows],
        batch_size=1000,
    )
    SignupDayCount.objects.filter(day__in=day_list).delete()
    SignupDayCount.objects.bulk_create([SignupDayCount(**row) for row in selectors.signup_counts(ranges)],
                                       batch_size=1000)
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
    cursors = {name: RollupCursor.objects.get_or_create(name=name)[0] for name in (*ID_CURSORS, MOMENTS)}

    # From the mark before the last one: see RollupCursor for the rows committed late.
    new = {name: model.objects.filter(pk__gt=cursors[name].previous_id) for name, model in ID_CURSORS.items()}
    high = {name: rows.aggregate(m=Max("pk"))["m"] for name, rows in new.items()}
    new = {name: rows.filter(pk__lte=high[name] or 0) for name, rows in new.items()}
    events, clicks = new["events"], new["clicks"]
    days |= _days_of(events, "scheduled_email__sent_at")
    days |= _days_of(events.filter(event_type="opened", scheduled_email__step="welcome"),
                     "scheduled_email__lead__created_at")
    days |= _days_of(clicks, "scheduled_email__sent_at")
    days |= _days_of(clicks, "lead__created_at")  # an upgrade click moves its lead's cohort
    days |= _days_of(events, "occurred_at")  # the deliverability rollup's day for an event (a late webhook)
    days |= _days_of(new["checkouts"], "lead__created_at")

    # Rows that change in place (a refund, a confirmation, an unsubscribe) are found by their moments since the
    # mark before the last one (a transaction's now() can commit a little after a refresh looked).
    since = datetime.fromtimestamp(cursors[MOMENTS].previous_id / 1e6, tz=UTC)
    purchases = Purchase.objects.filter(Q(pk__in=new["purchases"]) | Q(refunded_at__gte=since)
                                        | Q(disputed_at__gte=since) | Q(reviewed_at__gte=since))
    days |= _days_of(purchases, "lead__created_at") | _days_of(purchases, "scheduled_email__sent_at")
    days |= _days_of(Lead.objects.filter(confirmed_at__gte=since), "created_at")
    # Unsubscribing moves the credit of that person's unsubscribes between their emails' sent days.
    days |= _days_of(ScheduledEmail.objects.filter(lead__unsubscribed_at__gte=since, sent_at__isnull=False),
                     "sent_at")

    built = rollup_rebuild(days=days, now=now)
    high[MOMENTS] = int(now.timestamp() * 1e6)
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

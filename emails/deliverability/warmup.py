"""Warming up a new sending domain: a daily cap on marketing mail that doubles each day.

Mailbox providers distrust a domain that sends thousands of emails on its first day. With SEND_WARMUP_START set,
day 1 (that UTC date) allows SEND_WARMUP_DAILY_START marketing emails (50), each next day twice as many, until the
cap passes WARMUP_OVER_AT and the ramp is over. Transactional mail is never capped.

The dispatcher claims due rows oldest first, as always; before the hand-off it takes slots for the batch's
marketing rows from the day's counter (WarmupDay) under a row lock, so workers on any number of machines never send
more than the cap between them. Rows beyond it wait for their reader's next local morning (the sequence's send hour
in the reader's zone), marked WARMUP_WAITING so the dashboard can count them. A slot taken by a message the ESP then
refuses is not given back: the day errs low, never high.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from emails.deliverability.models import WarmupDay
from emails.models import WARMUP_WAITING, ScheduledEmail
from emails.schedule import REAL_DAY_SECONDS

# Past this many a day the domain is warm: no cap, no counter (day 19 at the default start of 50).
WARMUP_OVER_AT = 10_000_000
AHEAD_OF_THE_MORNING = timedelta(microseconds=1)


def warmup_cap(day: date) -> int | None:
    """The most marketing emails `day` allows, or None when no warm-up applies. Days before the start count as
    day 1 (mail sent early is still the domain's first)."""
    start = settings.SEND_WARMUP_START
    if start is None:
        return None
    cap = settings.SEND_WARMUP_DAILY_START * 2 ** max(0, (day - start).days)
    return cap if cap <= WARMUP_OVER_AT else None


@transaction.atomic
def warmup_take(*, day: date, cap: int, wanted: int) -> int:
    """Take up to `wanted` of `day`'s slots; returns how many were granted. The row lock (SQLite: the write lock
    every transaction takes at BEGIN) makes concurrent dispatchers take them one after the other."""
    counter, _ = WarmupDay.objects.select_for_update().get_or_create(day=day)
    granted = max(0, min(wanted, cap - counter.taken))
    if granted:
        counter.taken += granted
        counter.save(update_fields=["taken"])
    return granted


def warmup_limit(rows: list[ScheduledEmail], *, now: datetime) -> tuple[list[ScheduledEmail], list[ScheduledEmail]]:
    """Split a claimed batch (oldest due first) into the rows to send and the marketing rows over today's cap."""
    cap = warmup_cap(now.date())
    marketing = [row for row in rows if row.stream == ScheduledEmail.Stream.MARKETING]
    if cap is None or not marketing:
        return rows, []
    granted = warmup_take(day=now.date(), cap=cap, wanted=len(marketing))
    over = marketing[granted:]
    held = {row.pk for row in over}
    return [row for row in rows if row.pk not in held], over


def warmup_wait_from(now: datetime) -> datetime:
    """Where a held row's next local morning is looked for: after now, so a row due at its morning's very minute
    waits for the next one (development's compressed days: one such day later)."""
    if settings.DRIP_DAY_SECONDS != REAL_DAY_SECONDS:
        return now + timedelta(seconds=settings.DRIP_DAY_SECONDS)
    return now + 2 * AHEAD_OF_THE_MORNING  # so its time, the morning less AHEAD_OF_THE_MORNING, is after now


def warmup_held_until(morning: datetime) -> datetime:
    """A held row is due just before its morning: the claim takes due rows earliest first, so under the next
    day's cap it goes before the mail first due that morning. Oldest due first, across days too."""
    return morning - AHEAD_OF_THE_MORNING


@dataclass(frozen=True)
class WarmupToday:
    day_number: int
    cap: int
    taken: int
    waiting: int  # marketing rows held over a day's cap, waiting for their morning


def warmup_today(*, now: datetime) -> WarmupToday | None:
    """For the dashboard: two small reads (today's counter; the waiting rows, through their own partial index)."""
    cap = warmup_cap(now.date())
    if cap is None:
        return None
    assert settings.SEND_WARMUP_START is not None
    taken = WarmupDay.objects.filter(day=now.date()).values_list("taken", flat=True).first() or 0
    waiting = ScheduledEmail.objects.filter(status=ScheduledEmail.Status.SCHEDULED,
                                            claimed_by=WARMUP_WAITING).count()
    return WarmupToday(day_number=max(0, (now.date() - settings.SEND_WARMUP_START).days) + 1, cap=cap,
                       taken=taken, waiting=waiting)

"""Which days of a period are read from the daily rollup (dashboard/services.py) and which are counted live."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from funnel.models import RollupDay

Range = tuple[datetime, datetime]  # [since, until)
# Today and yesterday are still filling up: their events are still pouring in (see dashboard/services.py).
OPEN_DAYS = 2
# An open day's rollup is read while built this recently: two of beat's 5-minute refreshes (config/settings.py).
OPEN_DAY_FRESH_FOR = timedelta(minutes=10)


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
    """The closed days of [start, end] whose rollup is built (read_days adds the open days while fresh)."""
    last_closed = (today or timezone.now().date()) - timedelta(days=OPEN_DAYS)
    if start > last_closed:
        return set()
    return set(RollupDay.objects.filter(day__gte=start, day__lte=min(end, last_closed)).values_list("day", flat=True))


def read_days(start: date, end: date, *, now: datetime | None = None) -> set[date]:
    """The days of [start, end] the dashboard reads from the rollup: the closed days once built, and the open days
    (today, yesterday) while their build is at most OPEN_DAY_FRESH_FOR old, so at most two refreshes behind, like
    the page's own 5-minute cache. Counting two busy days live would cost more than the rest of the page together
    (about 10,000 signups and 90,000 emails a day at 1,000,000 leads); without a recent build they are counted live.
    """
    now = now or timezone.now()
    last_closed = now.date() - timedelta(days=OPEN_DAYS)
    built = RollupDay.objects.filter(day__gte=start, day__lte=end).values_list("day", "built_at")
    return {day for day, built_at in built if day <= last_closed or built_at >= now - OPEN_DAY_FRESH_FOR}


def split_days(start: date, end: date, *, rolled: set[date] | None = None) -> tuple[list[date], list[Range]]:
    """The days of [start, end] read from the rollup, and the others as ranges to count live.

    `rolled` is read_days() of a range covering this one, when the caller already has it (one query saved).
    """
    if rolled is None:
        rolled = read_days(start, end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [day for day in days if day in rolled], day_ranges([day for day in days if day not in rolled])


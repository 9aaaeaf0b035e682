"""When each email of the sequence goes out: pure functions, UTC in and out, the reader's IANA zone in between.

A reminder goes out at the sequence's send hour on the reader's wall clock, every `days_between_steps` days: both
are set in the admin (emails.content.timing; the hour falls back to DRIP_SEND_HOUR). Every function takes them as
arguments; left out, they are the current setting, which is how a save applies to rows scheduled from then on.
We compute the local date and hour first and convert to UTC last, so a DST change between two mornings moves the
UTC time, not the local one.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from emails.content.timing import sequence_timing
from emails.models import FOLLOW_UP_STEPS, REMINDER_STEPS, SEQUENCE_STEPS

# The first reminder waits at least this long after the welcome, so a 7 a.m. signup does not get two emails
# within the hour.
MIN_GAP_BEFORE_DAY_ONE = timedelta(hours=12)
REAL_DAY_SECONDS = 86400


def _timing(hour: int | None, days_between: int | None) -> tuple[int, int]:
    """`hour` and `days_between` as given, the sequence's current setting for what is left out."""
    if hour is not None and days_between is not None:
        return hour, days_between
    current = sequence_timing()
    return (current.send_hour if hour is None else hour,
            current.days_between_steps if days_between is None else days_between)


def reader_zone(name: str | None) -> ZoneInfo:
    """The reader's zone, or the default when the browser sent nothing usable."""
    for candidate in (name, settings.DRIP_DEFAULT_TIME_ZONE, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def local_morning_utc(day: date, zone: ZoneInfo, hour: int) -> datetime:
    """`hour`:00 on `day` in `zone`, as UTC.

    A time that does not exist (the clock jumps over it in spring) is read with the offset before the jump,
    so it lands just after the jump; an ambiguous one (autumn) is the first of the two (fold=0).
    """
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def first_morning_after(moment: datetime, zone: ZoneInfo, hour: int, gap: timedelta = MIN_GAP_BEFORE_DAY_ONE) -> date:
    """The first local date whose morning is at least `gap` after `moment`."""
    earliest = moment + gap
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    while local_morning_utc(day, zone, hour) < earliest:
        day += timedelta(days=1)
    return day


def sequence_send_times(*, welcome_at: datetime, time_zone: str | None, hour: int | None = None,
                        days_between: int | None = None, day_seconds: int | None = None) -> dict[str, datetime]:
    """UTC send time of every step of the sequence, for a reader welcomed at `welcome_at`: day 1 on the first
    morning far enough after the welcome, each later reminder `days_between` mornings after the one before."""
    hour, days_between = _timing(hour, days_between)
    day_seconds = settings.DRIP_DAY_SECONDS if day_seconds is None else day_seconds
    welcome_at = welcome_at.astimezone(UTC)
    times = {SEQUENCE_STEPS[0]: welcome_at}
    if day_seconds != REAL_DAY_SECONDS:
        # Development: a compressed week, so a whole sequence can be watched in minutes.
        for n, step in enumerate(REMINDER_STEPS):
            times[step] = welcome_at + timedelta(seconds=(1 + n * days_between) * day_seconds)
        return times
    zone = reader_zone(time_zone)
    day_one = first_morning_after(welcome_at, zone, hour)
    for n, step in enumerate(REMINDER_STEPS):
        times[step] = local_morning_utc(day_one + timedelta(days=n * days_between), zone, hour)
    return times


def mornings_from(moment: datetime, *, time_zone: str | None, count: int, hour: int | None = None,
                  days_between: int | None = None, day_seconds: int | None = None) -> list[datetime]:
    """`count` send times `days_between` mornings apart, starting with the first local morning at or after
    `moment`.

    Used to move the rest of a paused reader's week so it resumes at the sequence's pace.
    """
    hour, days_between = _timing(hour, days_between)
    day_seconds = settings.DRIP_DAY_SECONDS if day_seconds is None else day_seconds
    if day_seconds != REAL_DAY_SECONDS:
        return [moment + timedelta(seconds=n * days_between * day_seconds) for n in range(count)]
    zone = reader_zone(time_zone)
    first = first_morning_after(moment, zone, hour, gap=timedelta(0))
    return [local_morning_utc(first + timedelta(days=n * days_between), zone, hour) for n in range(count)]


def mornings_in_new_zone(times: list[datetime], *, old_zone: str | None, new_zone: str | None, now: datetime,
                         hour: int | None = None, days_between: int | None = None) -> list[datetime]:
    """The same local mornings in `new_zone` for reminders planned (in order) in `old_zone`: a reader who tells
    us their real zone keeps each reminder's date, now at `hour` on their own clock (moved rows are scheduled
    anew, so they take the current send hour).

    A morning already past in the new zone, or less than `days_between` mornings after the previous
    reminder's, moves to the next free morning, so what is left of the week keeps the sequence's pace.
    """
    hour, days_between = _timing(hour, days_between)
    old, new = reader_zone(old_zone), reader_zone(new_zone)
    moved: list[datetime] = []
    next_free = local_morning_utc(first_morning_after(now, new, hour, gap=timedelta(0)), new, hour)
    for planned in times:
        at = max(local_morning_utc(planned.astimezone(old).date(), new, hour), next_free)
        moved.append(at)
        next_free = local_morning_utc(at.astimezone(new).date() + timedelta(days=days_between), new, hour)
    return moved


def follow_up_send_times(*, day_seven_at: datetime, time_zone: str | None, hour: int | None = None,
                         after_days: int | None = None, days_between: int | None = None,
                         day_seconds: int | None = None) -> dict[str, datetime]:
    """UTC send time of each follow-up email for a reader whose day 7 went out at `day_seven_at`: the first
    `after_days` local mornings later, each next one `days_between` mornings after the one before, at the
    sequence's send hour (all three from the admin's setting when left out)."""
    current = sequence_timing()
    hour = current.send_hour if hour is None else hour
    after_days = current.follow_up_after_days if after_days is None else after_days
    days_between = current.follow_up_days_between if days_between is None else days_between
    day_seconds = settings.DRIP_DAY_SECONDS if day_seconds is None else day_seconds
    offsets = [after_days + n * days_between for n in range(len(FOLLOW_UP_STEPS))]
    if day_seconds != REAL_DAY_SECONDS:
        # Development: the compressed week goes on at the same pace.
        return {step: day_seven_at + timedelta(seconds=days * day_seconds)
                for step, days in zip(FOLLOW_UP_STEPS, offsets, strict=True)}
    zone = reader_zone(time_zone)
    day_seven = day_seven_at.astimezone(zone).date()
    return {step: local_morning_utc(day_seven + timedelta(days=days), zone, hour)
            for step, days in zip(FOLLOW_UP_STEPS, offsets, strict=True)}

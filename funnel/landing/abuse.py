"""Bots and list bombing at every signup channel: refuse scripts without telling them, and cap the confirmation
emails a burst of signups can make us send.

- `signup_refuse_bot`: the one check every channel calls with plain values (the landing form here; the JSON API
  and the embeddable form at merge). True means: answer exactly as for a person, store and send nothing.
- `confirmation_send_at`: when a confirmation email may go out under the hourly caps per recipient domain and in
  total (settings CONFIRMATION_CAP_*). Now, if this hour has room; else the start of the first hour that has, so
  the signup is kept and its confirmation row simply waits (rows, not lost; the dispatcher sends it when due).

Both count per day into SignupGuardDay for the dashboard. The common case costs one Redis call (the booking; a
statement in the database without Redis); the refused and held ones one statement more (the day counter).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from funnel.landing.caps_redis import confirmation_hour_book, confirmation_hour_release
from funnel.models import ConfirmationWindow, SignupGuardDay
from leads.bots import signup_bot_reason

log = logging.getLogger(__name__)

_HOUR = 3600
_NO_CAP = 2**31 - 1  # fits the PositiveIntegerField it is compared with
_MAX_TRIES = 8  # a booking lost to concurrent bookings moves one hour on each time; this bounds a burst's cost


def signup_refuse_bot(*, honeypot: str | None, stamp: str | None, now: datetime | None = None) -> bool:
    """True when the submission is a bot's (leads/bots.py: honeypot filled, posted too fast, stamp missing or
    forged); then it is counted for the dashboard and the caller must answer as for a person and do nothing else.

    `stamp`: the form's STAMP_FIELD as posted ("" if absent); None for a channel without a rendered form."""
    now = now or timezone.now()
    reason = signup_bot_reason(honeypot=honeypot, stamp=stamp, now=now.timestamp())
    if not reason:
        return False
    log.info("signup refused as a bot's", extra={"reason": reason})
    guard_day_count(day=now.astimezone(UTC).date(), refused=1)
    return True


def guard_day_count(*, day: date, refused: int = 0, held: int = 0) -> None:
    """Add to the day's refused/held counters in one atomic UPSERT (concurrent signups never lose a count)."""
    table = connection.ops.quote_name(SignupGuardDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (date, refused, held) VALUES (%s, %s, %s) "  # noqa: S608 - names are ours
            f"ON CONFLICT (date) DO UPDATE SET refused = {table}.refused + excluded.refused, "
            f"held = {table}.held + excluded.held", [day, refused, held])


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _caps() -> tuple[int, int]:
    return (settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR or _NO_CAP, settings.CONFIRMATION_CAP_PER_HOUR or _NO_CAP)


def _take(*, hour: int, domain: str) -> bool:
    """Take one confirmation from `hour`'s allowance for `domain` and for the total, both or neither.

    One statement in the common case: a conditional UPSERT of both counters that only raises a counter still
    under its cap (RETURNING names the rows it did raise). If only one was raised, that one is given back."""
    per_domain, total = _caps()
    table = connection.ops.quote_name(ConfirmationWindow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hour, domain, count) VALUES (%s, %s, 1), (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (hour, domain) DO UPDATE SET count = {table}.count + 1 "
            f"WHERE {table}.count < CASE WHEN {table}.domain = %s THEN %s ELSE %s END RETURNING domain",
            [hour, domain, hour, ConfirmationWindow.TOTAL, ConfirmationWindow.TOTAL, total, per_domain])
        raised = [row[0] for row in cursor.fetchall()]
    if len(raised) == 2:
        return True
    if raised:
        ConfirmationWindow.objects.filter(hour=hour, domain=raised[0]).update(count=F("count") - 1)
    return False


def confirmation_hour_book_in_database(*, domain: str, hour: int) -> int:
    """The hour whose allowance this confirmation takes, booked in the database (the plain version of
    funnel/landing/caps_redis.py, which follows the same steps): this hour if it has room; else, starting from the
    last hour booked for the domain or in total (the hours before it are full or nearly), the first with room."""
    if _take(hour=hour, domain=domain):
        return hour
    last = ConfirmationWindow.objects.filter(domain__in=[domain, ConfirmationWindow.TOTAL], hour__gt=hour,
                                             count__gt=0).order_by("-hour").values_list("hour", flat=True).first()
    later = max(hour + 1, last or 0)
    for _ in range(_MAX_TRIES):
        if _take(hour=later, domain=domain):
            break
        later += 1
    return later


@dataclass(frozen=True)
class ConfirmationBooking:
    """A confirmation's place under the hourly caps: when it may go out, and the hour whose allowance it took
    (None when nothing was booked: no caps, or Redis did not answer)."""

    send_at: datetime
    domain: str
    hour: int | None
    held: bool


def confirmation_book(*, email: str, now: datetime) -> ConfirmationBooking:
    """Book a confirmation to `email` under the hourly caps: now if this hour has room, else the start of a later
    hour (held). Not counted for the dashboard yet: confirmation_booking_count, once the confirmation is queued.

    With Redis, booked there in one round trip and no lock (caps_redis.py); without it, in the database, in the
    caller's transaction (SQLite has one writer at a time anyway)."""
    hour = int(now.timestamp()) // _HOUR
    domain = _domain(email)
    if not (settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR or settings.CONFIRMATION_CAP_PER_HOUR):
        return ConfirmationBooking(send_at=now, domain=domain, hour=None, held=False)
    if settings.REDIS_URL:
        per_domain, total = _caps()
        booked = confirmation_hour_book(domain=domain, hour=hour, cap_domain=per_domain, cap_total=total,
                                        tries=_MAX_TRIES)
    else:
        booked = confirmation_hour_book_in_database(domain=domain, hour=hour)
    if booked is None or booked <= hour:
        return ConfirmationBooking(send_at=now, domain=domain, hour=booked, held=False)
    return ConfirmationBooking(send_at=datetime.fromtimestamp(booked * _HOUR, tz=UTC), domain=domain, hour=booked,
                               held=True)


def confirmation_booking_count(booking: ConfirmationBooking, *, now: datetime) -> None:
    """The booked confirmation was queued: a held one counts for the dashboard, after commit, in a statement of its
    own (the day's counter row must not stay locked by a signup's transaction)."""
    if not booking.held or booking.hour is None:
        return
    day = now.astimezone(UTC).date()
    transaction.on_commit(lambda: guard_day_count(day=day, held=1))
    log.info("confirmation held by the hourly caps",
             extra={"domain": booking.domain, "hours_later": booking.hour - int(now.timestamp()) // _HOUR})


def confirmation_booking_release(booking: ConfirmationBooking) -> None:
    """Give a booking back: its confirmation was not queued after all (the address was known, or its mailbox had
    one today). The one-round-trip signup books before it knows (funnel/landing/signup_one_trip.py)."""
    if booking.hour is None:
        return
    if settings.REDIS_URL:
        confirmation_hour_release(domain=booking.domain, hour=booking.hour)
    else:
        ConfirmationWindow.objects.filter(hour=booking.hour, domain__in=[booking.domain, ConfirmationWindow.TOTAL],
                                          count__gt=0).update(count=F("count") - 1)


def confirmation_send_at(*, email: str, now: datetime) -> datetime:
    """When the confirmation to `email` may be sent, booked and counted: for a caller that queues it for sure."""
    booking = confirmation_book(email=email, now=now)
    confirmation_booking_count(booking, now=now)
    return booking.send_at


def confirmation_windows_prune(*, now: datetime) -> int:
    """Forget the bookings of hours that are over (a day's margin). Returns rows deleted."""
    past = int((now - timedelta(days=1)).timestamp()) // _HOUR
    deleted, _ = ConfirmationWindow.objects.filter(hour__lt=past).delete()
    return deleted

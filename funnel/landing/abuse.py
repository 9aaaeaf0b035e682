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
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from funnel.landing.caps_redis import confirmation_hour_book
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


def confirmation_send_at(*, email: str, now: datetime) -> datetime:
    """When the confirmation to `email` may be sent, its booking taken: now, or the start of a later hour (held).

    With Redis, booked there in one round trip and no lock (caps_redis.py); without it, in the database, in the
    caller's transaction (SQLite has one writer at a time anyway)."""
    hour = int(now.timestamp()) // _HOUR
    domain = _domain(email)
    if not (settings.CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR or settings.CONFIRMATION_CAP_PER_HOUR):
        return now
    if settings.REDIS_URL:
        per_domain, total = _caps()
        booked = confirmation_hour_book(domain=domain, hour=hour, cap_domain=per_domain, cap_total=total,
                                        tries=_MAX_TRIES)
    else:
        booked = confirmation_hour_book_in_database(domain=domain, hour=hour)
    if booked is None or booked <= hour:
        return now
    # Counted after commit, in a statement of its own: the day's counter row must not stay locked by a signup.
    day = now.astimezone(UTC).date()
    transaction.on_commit(lambda: guard_day_count(day=day, held=1))
    log.info("confirmation held by the hourly caps", extra={"domain": domain, "hours_later": booked - hour})
    return datetime.fromtimestamp(booked * _HOUR, tz=UTC)


def confirmation_windows_prune(*, now: datetime) -> int:
    """Forget the bookings of hours that are over (a day's margin). Returns rows deleted."""
    past = int((now - timedelta(days=1)).timestamp()) // _HOUR
    deleted, _ = ConfirmationWindow.objects.filter(hour__lt=past).delete()
    return deleted

"""Writes to the outbox: enrol a lead in the sequence, queue one email, retry failed rows.

Rows are the outbox: once a row is committed the email will go out even if the broker is down, because the
beat-driven dispatcher finds due rows on its own. Kicking the dispatcher on commit only makes it sooner.
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from emails.models import SEQUENCE_STEPS, Click, ScheduledEmail
from emails.schedule import sequence_send_times
from emails.tasks import dispatch_due
from leads.models import Lead

logger = logging.getLogger(__name__)

# Enough to reach a healthy local broker, short enough that a dead one costs a request almost nothing.
KICK_TIMEOUT_SECONDS = 0.25
# After a failed kick, skip kicking for a while: a request that queues several emails while the broker is down
# should pay the connection timeout once, not once per email.
KICK_BACKOFF_SECONDS = 10.0
_kick_suspended_until = 0.0


def dispatcher_kick() -> None:
    """Ask a worker to run the dispatcher now. Best effort: never raises, never blocks for long."""
    global _kick_suspended_until
    if not settings.DRIP_KICK_ON_QUEUE or time.monotonic() < _kick_suspended_until:
        return
    try:
        with dispatch_due.app.connection_for_write() as conn:
            conn.transport_options = {
                **(conn.transport_options or {}),
                "socket_connect_timeout": KICK_TIMEOUT_SECONDS,
                "socket_timeout": KICK_TIMEOUT_SECONDS,
                "max_retries": 0,
            }
            conn.connect_timeout = KICK_TIMEOUT_SECONDS
            # A kick that waited in the queue longer than a few beats is worthless: beat already ran.
            dispatch_due.apply_async(retry=False, expires=60, producer=conn.Producer())
    except Exception as exc:  # noqa: BLE001 - any broker failure is fine: beat catches up
        _kick_suspended_until = time.monotonic() + KICK_BACKOFF_SECONDS
        logger.warning("dispatcher kick failed, beat will catch up: %s: %s", type(exc).__name__, exc)


def _kick_on_commit() -> None:
    transaction.on_commit(dispatcher_kick)


@transaction.atomic
def sequence_enrol(*, lead: Lead, now: datetime | None = None) -> int:
    """Insert the welcome (due now) and day-1..day-7 rows for `lead`. Idempotent; returns rows inserted."""
    now = now or timezone.now()
    times = sequence_send_times(welcome_at=now, time_zone=lead.time_zone)
    existing = set(
        ScheduledEmail.objects.filter(lead=lead, step__in=SEQUENCE_STEPS, stream=ScheduledEmail.Stream.MARKETING)
        .values_list("step", flat=True)
    )
    rows = [
        ScheduledEmail(lead=lead, step=step, stream=ScheduledEmail.Stream.MARKETING, send_at=send_at,
                       created_at=now)
        for step, send_at in times.items()
        if step not in existing
    ]
    # ignore_conflicts: two confirmations racing each other still end with exactly one row per step.
    ScheduledEmail.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        _kick_on_commit()
    return len(rows)


@transaction.atomic
def email_queue(*, lead: Lead, step: str, stream: str = ScheduledEmail.Stream.TRANSACTIONAL, key: str = "",
                context: dict[str, Any] | None = None) -> ScheduledEmail:
    """An outbox row due now, idempotent on (lead, step, key). `context` holds ids and plain values, never tokens."""
    row, created = ScheduledEmail.objects.get_or_create(
        lead=lead, step=step, key=key,
        defaults={"stream": stream, "context": context or {}, "send_at": timezone.now()},
    )
    if created:
        _kick_on_commit()
    return row


@transaction.atomic
def email_retry(*, row_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send failed (or, by an admin's decision, unknown) rows again, due now. Returns rows rescheduled."""
    now = now or timezone.now()
    count = ScheduledEmail.objects.filter(
        pk__in=list(row_ids), status__in=[ScheduledEmail.Status.FAILED, ScheduledEmail.Status.UNKNOWN]
    ).update(status=ScheduledEmail.Status.SCHEDULED, send_at=now, attempts=0, lease_until=None, claimed_by="",
             handed_at=None, updated_at=now)
    if count:
        _kick_on_commit()
    return count


@transaction.atomic
def click_record(*, lead_id: int, row_id: int | None, target: str) -> Click | None:
    """A click through our redirect. None when the lead no longer exists (erased rows stay, deleted do not)."""
    if not Lead.objects.filter(pk=lead_id).exists():
        return None
    # Credit the row only if it really belongs to this lead (tokens are signed, but rows may be deleted).
    if row_id is not None and not ScheduledEmail.objects.filter(pk=row_id, lead_id=lead_id).exists():
        row_id = None
    return Click.objects.create(lead_id=lead_id, scheduled_email_id=row_id, target=target)

"""Writes to the outbox: enrol a lead in the sequence, queue one email, retry failed rows.

Rows are the outbox: once a row is committed the email will go out even if the broker is down, because the
beat-driven dispatcher finds due rows on its own. Kicking the dispatcher on commit only makes it sooner.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from emails.clicks import click_confirm_human, click_machine_reason
from emails.engagement import click_human_record, since_click_recount
from emails.kick_thread import task_publish_soon
from emails.models import FOLLOW_UP_STEPS, REMINDER_STEPS, SEQUENCE_STEPS, Click, ScheduledEmail
from emails.schedule import REAL_DAY_SECONDS, mornings_in_new_zone, sequence_send_times
from emails.tasks import dispatch_due, dispatch_transactional
from emails.tracking import rows_with_acceptance_evidence
from leads.db import insert_for_each_unless_conflict, insert_unless_conflict
from leads.models import TAG_NAME, Lead, TagChange
from leads.services import lead_tag_add

# A kick that waited in the queue longer than a few beats is worthless: beat already ran.
KICK_EXPIRES_SECONDS = 60


def dispatcher_kick(*, transactional: bool = False) -> None:
    """Ask a worker to run the dispatcher (of the transactional lane, or the marketing one) now. Best effort: never
    raises, never blocks: published by this process's kick thread (emails/kick_thread.py), folded with the kicks
    asked for meanwhile. The transactional task goes to its own queue by CELERY_TASK_ROUTES."""
    if settings.DRIP_KICK_ON_QUEUE:
        task_publish_soon(dispatch_transactional if transactional else dispatch_due, expires=KICK_EXPIRES_SECONDS)


def _kick_on_commit(*, stream: str = ScheduledEmail.Stream.MARKETING) -> None:
    transactional = stream == ScheduledEmail.Stream.TRANSACTIONAL
    transaction.on_commit(lambda: dispatcher_kick(transactional=transactional))


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
def sequence_reschedule(*, lead: Lead, previous_zone: str, now: datetime | None = None) -> int:
    """Move `lead`'s unsent reminders and follow-up emails from mornings in `previous_zone` to the same mornings in
    `lead.time_zone` (emails.schedule.mornings_in_new_zone). Rows already claimed, sent or skipped stay as they
    are. Returns how many rows moved. A compressed development week is not tied to mornings: nothing moves there."""
    if settings.DRIP_DAY_SECONDS != REAL_DAY_SECONDS:
        return 0
    now = now or timezone.now()
    rows = list(ScheduledEmail.objects.select_for_update()
                .filter(lead=lead, stream=ScheduledEmail.Stream.MARKETING, status=ScheduledEmail.Status.SCHEDULED,
                        step__in=[*REMINDER_STEPS, *FOLLOW_UP_STEPS]).order_by("send_at"))
    times = mornings_in_new_zone([row.send_at for row in rows], old_zone=previous_zone, new_zone=lead.time_zone,
                                 now=now)
    moved = []
    for row, at in zip(rows, times, strict=True):
        if row.send_at != at:
            row.send_at, row.updated_at = at, now
            moved.append(row)
    ScheduledEmail.objects.bulk_update(moved, ["send_at", "updated_at"])
    return len(moved)


# savepoint=False: a duplicate raises nothing (INSERT … ON CONFLICT DO NOTHING), and the one error left (a
# conflicting marketing row, a caller's bug) is not one any caller recovers from inside its transaction; a
# savepoint would cost two round trips per signup.
@transaction.atomic(savepoint=False)
def email_queue(*, lead: Lead, step: str, stream: str = ScheduledEmail.Stream.TRANSACTIONAL, key: str = "",
                context: dict[str, Any] | None = None, send_at: datetime | None = None) -> ScheduledEmail:
    """An outbox row due now (or at `send_at`), idempotent on (lead, step, key). `context` holds ids and plain
    values, never tokens."""
    now = timezone.now()
    row = ScheduledEmail(lead=lead, step=step, key=key, stream=stream, context=context or {},
                         send_at=send_at or now)
    # One statement for a new row (the common case); an existing one is read back.
    if insert_unless_conflict(row):
        if row.send_at <= now:  # a row held for later is found by the dispatcher's regular runs
            _kick_on_commit(stream=stream)
        return row
    existing = ScheduledEmail.objects.filter(lead=lead, step=step, key=key).first()
    if existing is None:
        # The conflict was another constraint (a marketing step already queued under another key): the same
        # error get_or_create raised here.
        raise IntegrityError(f"{step!r} for lead {lead.pk} conflicts with an existing row")
    return existing


@transaction.atomic(savepoint=False)
def email_queue_for_each(*, leads: QuerySet[Lead], step: str, key: str,
                         stream: str = ScheduledEmail.Stream.TRANSACTIONAL) -> int:
    """An outbox row due now for every lead `leads` finds (usually one or none), in one INSERT … SELECT.

    For answers that must not tell whether an address is known ("send me a sign-in link"): the same statement
    runs, and the dispatcher is kicked, whether it finds a lead or none, so both cost the same work and take the
    same time. Returns the rows inserted."""
    row = ScheduledEmail(step=step, key=key, stream=stream, context={}, send_at=timezone.now())
    inserted = insert_for_each_unless_conflict(row, fk_column=ScheduledEmail._meta.get_field("lead").column,
                                               source=leads)
    _kick_on_commit(stream=stream)  # also for none: a kick that finds nothing to send costs a worker one query
    return inserted


@transaction.atomic
def email_retry(*, row_ids: Iterable[int], now: datetime | None = None) -> int:
    """Send failed (or, by an admin's decision, unknown) rows again, due now. Returns rows rescheduled.

    Never a row the ESP may already have: one with any acceptance evidence (an ESP message id, or a stored event
    other than a refusal) is left alone, so a retry cannot send the same email twice. The rows are locked first,
    so an ESP event arriving at the same moment is either seen here or finds the row rescheduled."""
    now = now or timezone.now()
    candidates = list(ScheduledEmail.objects.select_for_update().filter(
        pk__in=list(row_ids), status__in=[ScheduledEmail.Status.FAILED, ScheduledEmail.Status.UNKNOWN]
    ).values_list("pk", flat=True))
    accepted = rows_with_acceptance_evidence(candidates)
    count = ScheduledEmail.objects.filter(pk__in=[pk for pk in candidates if pk not in accepted]).update(
        status=ScheduledEmail.Status.SCHEDULED, send_at=now, attempts=0, lease_until=None, claimed_by="",
        handed_at=None, updated_at=now)
    if count:  # an admin's retry, rare: both lanes look
        _kick_on_commit(stream=ScheduledEmail.Stream.MARKETING)
        _kick_on_commit(stream=ScheduledEmail.Stream.TRANSACTIONAL)
    return count


@transaction.atomic
def click_record(*, lead_id: int, row_id: int | None, target: str, method: str = "GET",
                 user_agent: str = "") -> Click | None:
    """A click through our redirect, marked when a machine made it (emails/clicks.py). None when the lead no
    longer exists (erased rows stay, deleted do not)."""
    if not Lead.objects.filter(pk=lead_id).exists():
        return None
    # Credit the row only if it really belongs to this lead (tokens are signed, but rows may be deleted).
    row = ScheduledEmail.objects.filter(pk=row_id, lead_id=lead_id).first() if row_id is not None else None
    now = timezone.now()
    machine = click_machine_reason(row=row, target=target, at=now, method=method, user_agent=user_agent)
    click = Click.objects.create(lead_id=lead_id, scheduled_email=row, target=target, created_at=now,
                                 machine=machine)
    if machine == Click.Machine.HUMAN:
        click_human_record(lead_id=lead_id, how=f"clicked a link ({target}) in an email")
    elif machine == Click.Machine.BURST:
        # The earlier clicks of the burst were a person's until now: count this reader's emails again without them.
        since_click_recount(lead_ids=[lead_id])
    return click


@transaction.atomic
def click_tag_confirm(*, lead_id: int, row_id: int | None, target: str, tag: str) -> bool:
    """The reader pressed the button behind a tagging link (`[Yes](link:free_guide tag:interested)`): a CSRF-checked
    POST, which mailbox scanners do not make. The lead gets the tag (in their timeline, "through a link in an
    email"), and their click on that email counts as a person's. Returns whether the tag was new; a bad tag name or
    a lead that is gone changes nothing."""
    lead = Lead.objects.filter(pk=lead_id).exclude(status=Lead.Status.ERASED).first()
    if lead is None or not TAG_NAME.fullmatch(tag):
        return False
    click_confirm_human(lead_id=lead.pk, row_id=row_id, target=target, at=timezone.now())
    return lead_tag_add(lead=lead, tag=tag, source=TagChange.Source.EMAIL)

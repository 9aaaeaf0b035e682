"""The dispatcher: claim due rows, re-check each lead, render, hand them to the ESP, record the outcome.

At most once. A claim is a lease (`status=sending`, `lease_until`, a unique `claimed_by`). Just before a chunk of
messages goes to the backend its rows get `handed_at`. If the process dies, an expired lease tells us:
- no `handed_at`: the message never left us, so the row goes back to `scheduled`;
- `handed_at`: the ESP may have it, so the row becomes `unknown` and is reconciled from the ESP's tracking
  events (which carry our row id in the metadata), never resent blindly; with Postmark, also by asking its search
  (emails/esp_lookup.py), which resends it once only when Postmark has no record of it.

Chunks go to the ESP as batches, or several messages in flight (emails/esp_send.py), each after its turn under the
shared rate limit (emails/esp_throttle.py). Transactional mail has its own lane (see ALL, MARKETING_LANE…).

Queries per batch do not grow with the batch: one read of the sending brake, one claim, one read of rows with their
leads, for paused leads one read of their later rows and one UPDATE moving them, and per chunk (chunks are sized by
time, so a fast backend takes a whole batch in one) one hand-off mark and one UPDATE per outcome kind; after a batch
that sent mail, one bounded query judges the brake (emails/deliverability/brake.py); during a warm-up, one locked
counter update (emails/deliverability/warmup.py).
Outcomes are written per chunk, so a crash leaves at most the chunk in flight `unknown` (emails/outcomes.py).
Context providers registered by other areas may add their own queries (e.g. a buyer's practice log).
"""

import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from anymail.exceptions import AnymailAPIError
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import BigIntegerField, Case, DateTimeField, F, PositiveIntegerField, Q, Value, When
from django.utils import timezone

from emails import esp_throttle
from emails.after_week import after_week_skip_reason
from emails.content.current import copy_batch, copy_for_row
from emails.deliverability.brake import brake_evaluate, brake_latest
from emails.deliverability.warmup import warmup_held_until, warmup_limit, warmup_wait_from
from emails.esp_send import (
    AMBIGUOUS,
    INACTIVE,
    NOT_TRIED,
    PERMANENT,
    REFUSED,
    SENT,
    TRANSIENT,
    Answer,
    Sender,
    answered,
    classify_error,
    retry_after_seconds,
    sender_for,
)
from emails.message import build_message
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.outcomes import Outcomes, backoff_seconds, outcomes_write
from emails.rendering import render_chosen
from emails.schedule import mornings_from
from emails.suppression import transactional_stopped_by
from emails.tracking import unknown_rows_reconcile
from leads.models import Lead
from leads.services import lead_suppress

logger = logging.getLogger(__name__)

Status = ScheduledEmail.Status
# Lanes: transactional mail (confirmation, sign-in, receipt, privacy) has its own Celery queue and dispatcher, so
# it never waits behind a marketing batch; the marketing lane takes a transactional row only once it has waited
# DRIP_TRANSACTIONAL_FALLBACK_SECONDS (no transactional worker running). ALL: both, as one dispatcher (tests, tools).
ALL, MARKETING_LANE, TRANSACTIONAL_LANE = "all", "marketing", "transactional"
# What the marketing lane claims while the sending brake holds (emails/deliverability/brake.py): only the
# transactional rows it would take anyway (waited past the fallback); marketing rows stay due, in their order.
BRAKED_MARKETING_LANE = "marketing-braked"
# Messages handed over per chunk aim to take about this long, so a crash leaves at most this much sending
# `unknown`, while a fast backend still gets a whole batch in one chunk. The backend's speed is learnt per process
# (a moving average); until it is known, the first chunk is small.
CHUNK_TARGET_SECONDS = 2.0
FIRST_CHUNK = 4
_seconds_per_message: float | None = None


def _next_chunk() -> int:
    if _seconds_per_message is None:
        return FIRST_CHUNK
    return max(1, int(CHUNK_TARGET_SECONDS / max(_seconds_per_message, 1e-5)))


def _learn_speed(messages: int, elapsed: float) -> None:
    global _seconds_per_message
    sample = elapsed / max(messages, 1)
    _seconds_per_message = sample if _seconds_per_message is None else 0.7 * _seconds_per_message + 0.3 * sample


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- What the lead allows at send time ------------------------------------------------------------------------

def skip_reason_for(lead: Lead, row: ScheduledEmail) -> str:
    """Why this lead must not get this row now ('' means send). Transactional mail ignores marketing opt-outs."""
    if lead.status == Lead.Status.ERASED or not lead.email:
        return "erased"
    if lead.suppression == Lead.Suppression.HARD_BOUNCE:
        return "hard_bounce"
    if row.stream == ScheduledEmail.Stream.TRANSACTIONAL:
        return transactional_stopped_by(lead, row.step)  # after a complaint, no more confirmation mail
    if lead.status == Lead.Status.UNSUBSCRIBED:
        return "unsubscribed"
    if lead.suppression:
        return lead.suppression
    if row.step in SEQUENCE_STEPS and lead.reminders_stopped_at:
        return "reminders_stopped"
    return after_week_skip_reason(lead, row, timezone.now())


def is_paused(lead: Lead, row: ScheduledEmail, now: datetime) -> bool:
    return (row.stream == ScheduledEmail.Stream.MARKETING and row.step in SEQUENCE_STEPS
            and lead.paused_until is not None and lead.paused_until > now)


# --- Claiming and recovering ----------------------------------------------------------------------------------

def claim_batch(*, now: datetime, size: int, lane: str = ALL) -> tuple[str, list[ScheduledEmail]]:
    """Claim up to `size` due rows of `lane` for this process; returns the claim token and the rows with leads."""
    claim = f"{_worker_name()}:{uuid.uuid4().hex[:12]}"
    ids = claim_ids(claim, now=now, size=size, lane=lane)
    if not ids:
        return claim, []
    # By primary key (the claim token narrows it to what we really got): index-driven at any table size.
    rows = list(ScheduledEmail.objects.filter(pk__in=ids, claimed_by=claim, status=Status.SENDING)
                .select_related("lead").order_by("send_at", "pk"))
    return claim, rows


def claim_ids(claim: str, *, now: datetime, size: int, lane: str = ALL) -> list[int]:
    """Lease up to `size` due rows of `lane`, earliest first, to `claim`; returns their ids."""
    if db_connection.vendor == "postgresql":
        return _claim_ids_postgresql(claim, now=now, size=size, lane=lane)
    return _claim_ids(claim, now=now, size=size, lane=lane)


def _lane_fallback(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.DRIP_TRANSACTIONAL_FALLBACK_SECONDS)


def _claim_ids(claim: str, *, now: datetime, size: int, lane: str = ALL) -> list[int]:
    """The plain version of _claim_ids_postgresql (a test compares the two)."""
    lease_until = now + timedelta(seconds=settings.DRIP_LEASE_SECONDS)
    due = ScheduledEmail.objects.filter(status=Status.SCHEDULED, send_at__lte=now).order_by("send_at", "pk")
    if lane == TRANSACTIONAL_LANE:
        due = due.filter(stream=ScheduledEmail.Stream.TRANSACTIONAL)
    elif lane == MARKETING_LANE:
        due = due.filter(Q(stream=ScheduledEmail.Stream.MARKETING) | Q(send_at__lte=_lane_fallback(now)))
    elif lane == BRAKED_MARKETING_LANE:
        due = due.filter(stream=ScheduledEmail.Stream.TRANSACTIONAL, send_at__lte=_lane_fallback(now))
    with transaction.atomic():
        if db_connection.features.has_select_for_update_skip_locked:
            # Concurrent dispatchers each lock different rows and never wait for each other.
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:size])
            if ids:
                ScheduledEmail.objects.filter(pk__in=ids).update(
                    status=Status.SENDING, claimed_by=claim, lease_until=lease_until, handed_at=None, updated_at=now)
        else:
            # SQLite: writers are serialised; the status condition makes a lost race claim nothing.
            ids = list(due.values_list("pk", flat=True)[:size])
            if ids:
                ScheduledEmail.objects.filter(pk__in=ids, status=Status.SCHEDULED).update(
                    status=Status.SENDING, claimed_by=claim, lease_until=lease_until, handed_at=None, updated_at=now)
    return ids


def _claim_ids_postgresql(claim: str, *, now: datetime, size: int, lane: str = ALL) -> list[int]:
    """The hot path, once per batch: the same lock-then-lease as one statement, so no transaction of four round
    trips and no IN list of the batch's ids to compile and quote. MATERIALIZED: the locking SELECT runs once.
    The status is written into the SQL so the planner always matches the partial index `due_email_idx`."""
    table = ScheduledEmail._meta.db_table
    lane_sql, lane_params = "", list[Any]()
    if lane == TRANSACTIONAL_LANE:
        lane_sql, lane_params = "AND stream = %s", [ScheduledEmail.Stream.TRANSACTIONAL.value]
    elif lane == MARKETING_LANE:
        lane_sql, lane_params = "AND (stream = %s OR send_at <= %s)", [ScheduledEmail.Stream.MARKETING.value,
                                                                       _lane_fallback(now)]
    elif lane == BRAKED_MARKETING_LANE:
        lane_sql, lane_params = "AND stream = %s AND send_at <= %s", [ScheduledEmail.Stream.TRANSACTIONAL.value,
                                                                      _lane_fallback(now)]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""WITH due AS MATERIALIZED (
                    SELECT id FROM {table} WHERE status = '{Status.SCHEDULED.value}' AND send_at <= %s {lane_sql}
                     ORDER BY send_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
                UPDATE {table} AS e
                   SET status = %s, claimed_by = %s, lease_until = %s, handed_at = NULL, updated_at = %s
                  FROM due WHERE e.id = due.id
             RETURNING e.id""",  # noqa: S608 - our table and our constants
            [now, *lane_params, size, Status.SENDING, claim, now + timedelta(seconds=settings.DRIP_LEASE_SECONDS),
             now])
        return [pk for (pk,) in cursor.fetchall()]


def recover_expired_leases(*, now: datetime) -> dict[str, int]:
    """Rows whose claimer died: never handed over → scheduled again; handed over → unknown, then reconciled from
    the ESP events stored while they were `sending` (a delivery webhook usually comes within seconds)."""
    expired = ScheduledEmail.objects.filter(status=Status.SENDING, lease_until__lt=now)
    requeued = expired.filter(handed_at__isnull=True).update(
        status=Status.SCHEDULED, claimed_by="", lease_until=None, updated_at=now)
    handed = list(expired.filter(handed_at__isnull=False).values_list("pk", flat=True))
    # The claim token stays: the dispatcher that lost the lease may still write what it knows (emails/outcomes.py).
    unknown = ScheduledEmail.objects.filter(pk__in=handed, status=Status.SENDING, lease_until__lt=now).update(
        status=Status.UNKNOWN, lease_until=None, updated_at=now,
        last_error="lease expired after the message was handed to the backend; reconcile from ESP events")
    reconciled = unknown_rows_reconcile(row_ids=handed) if unknown else 0
    if requeued or unknown:
        logger.warning("recovered expired leases requeued=%s unknown=%s reconciled=%s", requeued, unknown,
                       reconciled)
    return {"requeued": requeued, "unknown": unknown}


# --- Sending one batch ----------------------------------------------------------------------------------------

def _paused_moves(rows: list[ScheduledEmail], now: datetime) -> dict[int, datetime]:
    """Move each paused lead's due rows and the rest of their week so it resumes one email a morning."""
    def resume_at(row: ScheduledEmail) -> datetime:
        assert row.lead.paused_until is not None
        return row.lead.paused_until

    return _morning_moves(rows, now, start=resume_at)


def _morning_moves(rows: list[ScheduledEmail], now: datetime,
                   start: Callable[[ScheduledEmail], datetime]) -> dict[int, datetime]:
    """Move each row to its reader's first morning at or after `start(row)`, and the rest of their week after it,
    one email a morning: one read of those leads' later rows and at most one UPDATE for the whole batch."""
    if not rows:
        return {}
    later_by_lead: dict[int, list[ScheduledEmail]] = defaultdict(list)
    for other in ScheduledEmail.objects.filter(
        lead_id__in={row.lead_id for row in rows}, stream=ScheduledEmail.Stream.MARKETING, step__in=SEQUENCE_STEPS,
        status=Status.SCHEDULED,
    ).exclude(pk__in=[row.pk for row in rows]).order_by("send_at"):
        later_by_lead[other.lead_id].append(other)
    moves: dict[int, datetime] = {}
    changed: dict[int, ScheduledEmail] = {}
    for row in rows:
        lead = row.lead
        later = later_by_lead[lead.pk]
        times = mornings_from(start(row), time_zone=lead.time_zone, count=1 + len(later))
        moves[row.pk] = times[0]
        for other, send_at in zip(later, times[1:], strict=True):
            if other.send_at < send_at:
                other.send_at = send_at
                other.updated_at = now
                changed[other.pk] = other
    if changed:
        ScheduledEmail.objects.bulk_update(changed.values(), ["send_at", "updated_at"])
    return moves


class Overlap:
    """Render the next batch while this one's last request is in flight (dispatch_due). At most one request waits
    here at a time; its outcomes are written before the next batch is handed over, and by finish() at the end. Only
    the ESP's answer is awaited on the other thread: every database write stays on the dispatcher's own."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="esp-request")
        self.pending: tuple[str, list[ScheduledEmail], Any, Sender] | None = None  # claim, rows, future, sender

    def start(self, claim: str, rows: list[ScheduledEmail], messages: list[Any], sender: Sender) -> None:
        self.pending = (claim, rows, self.executor.submit(sender.send, messages), sender)

    def finish(self) -> Outcomes:
        if self.pending is None:
            return Outcomes()
        claim, rows, future, sender = self.pending
        self.pending = None
        try:
            answers = future.result()
        finally:
            sender.close()
        chunk = Outcomes()
        _record_answers(rows, answers, chunk)
        outcomes_write(chunk, claim, timezone.now())
        return chunk

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def send_batch(claim: str, rows: list[ScheduledEmail], *, now: datetime, lane: str = ALL,
               overlap: Overlap | None = None) -> Outcomes:
    """Send a claimed batch, writing each outcome as soon as it is known (emails/outcomes.py). Returns them all."""
    outcomes = Outcomes()
    ready: list[tuple[ScheduledEmail, Any]] = []
    paused: list[ScheduledEmail] = []
    sendable: list[ScheduledEmail] = []
    with copy_batch():  # one look at the published copy for the whole batch, none per row
        for row in rows:
            lead = row.lead
            reason = skip_reason_for(lead, row)
            if reason:
                outcomes.skipped[row.pk] = reason
                continue
            if is_paused(lead, row, now):
                paused.append(row)
                continue
            sendable.append(row)
        # A new domain's daily cap (emails/deliverability/warmup.py): the rest wait for their next morning.
        sendable, held = warmup_limit(sendable, now=now)
        for row in sendable:
            lead = row.lead
            try:
                chosen = copy_for_row(lead, row)
                rendered = render_chosen(lead, row, chosen)
            except Exception as exc:  # noqa: BLE001 - one broken copy or provider must not stop the batch
                logger.exception("render failed row=%s step=%s", row.pk, row.step)
                outcomes.failed[row.pk] = f"render: {type(exc).__name__}: {exc}"[:2000]
                continue
            # Recorded with the hand-off mark: which version (and arm) this reader was sent, kept on a retry.
            row.copy_version, row.variant = chosen.version, chosen.variant
            ready.append((row, build_message(lead, row, rendered)))
    if paused:
        outcomes.moved.update(_paused_moves(paused, now))
    if held:
        mornings = _morning_moves(held, now, start=lambda row: warmup_wait_from(now))
        outcomes.waiting.update({pk: warmup_held_until(morning) for pk, morning in mornings.items()})
    outcomes_write(outcomes, claim, timezone.now())
    if ready:
        outcomes.merge(_hand_over(claim, ready, lane=lane, overlap=overlap))
    return outcomes


def _hand_over(claim: str, ready: list[tuple[ScheduledEmail, Any]], *, lane: str = ALL,
               overlap: Overlap | None = None) -> Outcomes:
    """Send `ready` in chunks (emails/esp_send.py: Postmark batches, or several messages in flight); each chunk's
    outcomes are written before the next is handed over. With `overlap`, the last chunk's request is left in
    flight there (its outcomes are not in the result)."""
    done = Outcomes()
    if overlap is not None:
        done.merge(overlap.finish())  # the previous batch's last request: answered and written first
    sender = sender_for(get_connection())
    try:
        sender.open()
    except Exception as exc:  # noqa: BLE001 - nothing left us: every row may be retried
        unsent = Outcomes()
        for row, _ in ready:
            _record_error(row, exc, unsent, default=TRANSIENT)
        outcomes_write(unsent, claim, timezone.now())
        done.merge(unsent)
        return done
    try:
        i = 0
        while i < len(ready):
            part = ready[i:i + _chunk_size(sender.batch_limit)]
            # Our turn under the shared rate limit comes before the hand-off mark: a worker killed while it waits
            # leaves rows that were never handed over.
            esp_throttle.wait_for_turn(messages=len(part), requests=-(-len(part) // sender.batch_limit),
                                       transactional=lane == TRANSACTIONAL_LANE)
            waiting = [row.pk for row, _ in ready[i:]]
            started = time.monotonic()
            # The hand-off mark is what makes a crash safe (see module docstring). It also renews the lease.
            still_ours = mark_handed(claim, waiting, [row for row, _ in part], timezone.now())
            if still_ours != len(waiting):
                # Our lease ran out and another dispatcher recovered the rows: they are no longer ours to send.
                logger.error("lease lost mid-batch claim=%s: stopping before %d more", claim, len(waiting))
                return done
            if overlap is not None and sender.overlaps and i + len(part) == len(ready):
                overlap.start(claim, [row for row, _ in part], [message for _, message in part], sender)
                return done  # the sender is closed by overlap.finish()
            answers = sender.send([message for _, message in part])
            chunk = Outcomes()
            stop = _record_answers([row for row, _ in part], answers, chunk)
            if not stop:
                _learn_speed(len(part), time.monotonic() - started)  # the backend's speed, not our bookkeeping
            else:
                # The connection failed, or the ESP asked every worker to slow down: the rest wait too.
                retry_at = timezone.now() + timedelta(seconds=stop)
                chunk.moved.update({later.pk: retry_at for later, _ in ready[i + len(part):]})
            outcomes_write(chunk, claim, timezone.now())
            done.merge(chunk)
            if stop:
                return done
            i += len(part)
    finally:
        if overlap is None or overlap.pending is None or overlap.pending[3] is not sender:
            sender.close()
    return done


def _chunk_size(batch_limit: int) -> int:
    """Messages per hand-off: sized by time (_next_chunk), whole ESP requests when it takes batches, and never more
    than one second's allowance under the shared rate limit."""
    size = _next_chunk()
    if batch_limit > 1:
        size = max(batch_limit, size // batch_limit * batch_limit)
    for cap in (esp_throttle.messages_per_request_cap(), esp_throttle.requests_cap() if batch_limit == 1 else None):
        if cap:
            size = min(size, cap)
    return max(1, size)


def _record_answers(rows: list[ScheduledEmail], answers: list[Answer], outcomes: Outcomes) -> float:
    """Turn the ESP's answers into outcomes. Returns 0, or the seconds the remaining rows must wait: a connection
    failure (the next attempt's backoff) or a 429 (its Retry-After, which every worker honours)."""
    wait = 0.0
    inactive: list[int] = []
    for row, answer in zip(rows, answers, strict=True):
        if answer.kind == SENT:
            outcomes.sent[row.pk] = answer.detail
        elif answer.kind == INACTIVE:
            # Postmark holds the address inactive (a hard bounce or a complaint it saw): no more mail to it.
            outcomes.skipped[row.pk] = Lead.Suppression.HARD_BOUNCE
            inactive.append(row.lead_id)
        elif answer.kind == REFUSED:
            outcomes.failed[row.pk] = answer.detail
        elif answer.kind == NOT_TRIED:
            outcomes.moved[row.pk] = timezone.now() + timedelta(seconds=backoff_seconds(1))
            wait = wait or backoff_seconds(1)
        elif _is_429(answer.error):
            # Too many requests: every worker pauses. With a Retry-After the ESP said when: the row waits exactly
            # that long, no attempt counted; without one, it is a transient error like any other.
            retry_after = retry_after_seconds(answer.error)  # type: ignore[arg-type]
            paused = esp_throttle.pause_all(retry_after)
            if retry_after is not None:
                outcomes.moved[row.pk] = timezone.now() + timedelta(seconds=paused)
            else:
                _record_error(row, answer.error, outcomes)  # type: ignore[arg-type]
            wait = max(wait, paused)
        else:
            assert answer.error is not None
            kind = _record_error(row, answer.error, outcomes)
            if kind != PERMANENT and not answered(answer.error):
                wait = wait or backoff_seconds(1)
    for lead in Lead.objects.filter(pk__in=inactive):
        lead_suppress(lead=lead, reason=Lead.Suppression.HARD_BOUNCE,
                      note="the ESP refused the address as inactive (hard bounce or spam complaint)")
    return wait


def _is_429(exc: BaseException | None) -> bool:
    return isinstance(exc, AnymailAPIError) and getattr(exc, "status_code", None) == 429


def mark_handed(claim: str, waiting: list[int], part: list[ScheduledEmail], mark: datetime) -> int:
    """Mark `part` handed over at `mark`, with the copy each was rendered from, and renew the lease of every row in
    `waiting` (part and the rows after it) that is still ours. Returns how many of `waiting` are still ours."""
    if db_connection.vendor == "postgresql":
        return _mark_handed_postgresql(claim, waiting, part, mark)
    return _mark_handed(claim, waiting, part, mark)


def _mark_handed(claim: str, waiting: list[int], part: list[ScheduledEmail], mark: datetime) -> int:
    """The plain version of _mark_handed_postgresql (a test compares the two)."""
    return ScheduledEmail.objects.filter(pk__in=waiting, claimed_by=claim, status=Status.SENDING).update(
        handed_at=Case(When(pk__in=[row.pk for row in part], then=Value(mark)),
                       default=F("handed_at"), output_field=DateTimeField()),
        lease_until=mark + timedelta(seconds=settings.DRIP_LEASE_SECONDS),
        **_copy_choices(part))


def _mark_handed_postgresql(claim: str, waiting: list[int], part: list[ScheduledEmail], mark: datetime) -> int:
    """The hot path, once per chunk: arrays as parameters instead of IN lists and CASEs of hundreds of ids, which
    the ORM compiles and the driver quotes one by one. A row outside `part`, or with no version or arm, keeps its
    value (array_position gives NULL)."""
    table = ScheduledEmail._meta.db_table
    part_ids = [row.pk for row in part]
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table}
                   SET handed_at = CASE WHEN id = ANY(%s::bigint[]) THEN %s ELSE handed_at END, lease_until = %s,
                       copy_version = COALESCE((%s::integer[])[array_position(%s::bigint[], id)], copy_version),
                       variant_id = COALESCE((%s::bigint[])[array_position(%s::bigint[], id)], variant_id)
                 WHERE id = ANY(%s::bigint[]) AND claimed_by = %s AND status = %s""",  # noqa: S608 - our table
            [part_ids, mark, mark + timedelta(seconds=settings.DRIP_LEASE_SECONDS),
             [row.copy_version for row in part], part_ids, [row.variant_id for row in part], part_ids,
             waiting, claim, Status.SENDING])
        return int(cursor.rowcount)


def _copy_choices(rows: list[ScheduledEmail]) -> dict[str, Case]:
    """copy_version and variant for the hand-off UPDATE: one CASE per column, grouped by value (a batch holds a few
    steps, so a few WHENs), so recording them costs no query of its own."""
    choices: dict[str, Case] = {}
    for column, value_of, field in (("copy_version", lambda r: r.copy_version, PositiveIntegerField()),
                                    ("variant_id", lambda r: r.variant_id, BigIntegerField())):
        by_value: dict[int, list[int]] = {}
        for row in rows:
            value = value_of(row)
            if value is not None:
                by_value.setdefault(value, []).append(row.pk)
        if by_value:
            whens = [When(pk__in=pks, then=Value(value)) for value, pks in by_value.items()]
            choices[column] = Case(*whens, default=F(column), output_field=field)
    return choices


def _record_error(row: ScheduledEmail, exc: BaseException, outcomes: Outcomes, default: str | None = None) -> str:
    kind = default or classify_error(exc)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    logger.warning("send error row=%s step=%s kind=%s error=%s", row.pk, row.step, kind, error)
    if kind == TRANSIENT:
        attempts = row.attempts + 1
        if attempts >= settings.DRIP_MAX_ATTEMPTS:
            outcomes.failed[row.pk] = f"gave up after {attempts} attempts: {error}"
        else:
            outcomes.retry[row.pk] = (error, attempts)
    elif kind == AMBIGUOUS:
        outcomes.unknown[row.pk] = error
    else:
        outcomes.failed[row.pk] = error
    return kind


def dispatch_batch(*, now: datetime | None = None, size: int | None = None, lane: str = ALL,
                   overlap: Overlap | None = None) -> Outcomes:
    """Claim one batch of `lane`, send it, record it. Returns what happened (empty when nothing was due). With
    `overlap`, the batch's last request may still be in flight (see Overlap)."""
    now = now or timezone.now()
    # The sending brake is read once per batch, so every worker on every machine honours it from its next claim.
    brake = brake_latest() if lane != TRANSACTIONAL_LANE else None
    braked = brake is not None and brake.engaged
    claim_lane = {ALL: TRANSACTIONAL_LANE, MARKETING_LANE: BRAKED_MARKETING_LANE}.get(lane, lane) if braked else lane
    claim, rows = claim_batch(now=now, size=size or settings.DRIP_BATCH_SIZE, lane=claim_lane)
    if not rows:
        return Outcomes()
    outcomes = send_batch(claim, rows, now=now, lane=lane, overlap=overlap)
    if lane != TRANSACTIONAL_LANE and not braked and outcomes.sent:
        brake_evaluate(latest=brake, known=True)  # more marketing mail sent: the window moved
    logger.info("dispatched batch claim=%s %s", claim, outcomes.counts())
    return outcomes


def dispatch_due(*, max_batches: int = 50, max_seconds: float = 30.0, lane: str = ALL) -> int:
    """Recover expired leases, then send due batches of `lane` until none is due or the time budget is spent."""
    recover_expired_leases(now=timezone.now())
    started = time.monotonic()
    handled = 0
    overlap = Overlap()
    try:
        for _ in range(max_batches):
            before = overlap.pending
            outcomes = dispatch_batch(lane=lane, overlap=overlap)
            n = sum(outcomes.counts().values())
            handled += n
            left_in_flight = overlap.pending is not None and overlap.pending is not before
            if (n == 0 and not left_in_flight) or time.monotonic() - started > max_seconds:
                break
    finally:
        try:
            last = overlap.finish()
            handled += sum(last.counts().values())
            if last.sent and lane != TRANSACTIONAL_LANE:
                brake_evaluate()  # the last batch's request, answered only now
        finally:
            overlap.close()
    return handled


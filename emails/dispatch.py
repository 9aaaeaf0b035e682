"""The dispatcher: claim due rows, re-check each lead, render, send over one connection, record the outcome.

At most once. A claim is a lease (`status=sending`, `lease_until`, a unique `claimed_by`). Just before a chunk of
messages goes to the backend its rows get `handed_at`. If the process dies, an expired lease tells us:
- no `handed_at`: the message never left us, so the row goes back to `scheduled`;
- `handed_at`: the ESP may have it, so the row becomes `unknown` and is reconciled from the ESP's tracking
  events (which carry our row id in the metadata), never resent blindly.

Queries per batch do not grow with the batch: one claim, one read of rows with their leads, and per chunk (chunks
are sized by time, so a fast backend takes a whole batch in one) one hand-off mark and one UPDATE per outcome kind.
Outcomes are written per chunk, so a crash leaves at most the chunk in flight `unknown` (emails/outcomes.py).
Context providers registered by other areas may add their own queries (e.g. a buyer's practice log).
"""

import logging
import os
import smtplib
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import requests
from anymail.exceptions import AnymailAPIError
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import BigIntegerField, Case, DateTimeField, F, PositiveIntegerField, Value, When
from django.utils import timezone

from emails.after_week import after_week_skip_reason
from emails.content.current import copy_batch, copy_for_row
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.outcomes import Outcomes, backoff_seconds, outcomes_write
from emails.rendering import build_message, render_chosen
from emails.schedule import mornings_from
from emails.suppression import transactional_stopped_by
from emails.tracking import unknown_rows_reconcile
from leads.models import Lead

logger = logging.getLogger(__name__)

Status = ScheduledEmail.Status
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


# --- Classifying backend errors -------------------------------------------------------------------------------

TRANSIENT, PERMANENT, AMBIGUOUS = "transient", "permanent", "ambiguous"


def classify_error(exc: BaseException) -> str:
    """transient: nothing was accepted, try again later; permanent: the ESP refused it; ambiguous: it may
    have been accepted (a read timeout after the request went out), so it must not be resent blindly."""
    status = getattr(exc, "status_code", None) if isinstance(exc, AnymailAPIError) else None
    if status is not None:
        # The ESP answered: it did not take the message.
        return TRANSIENT if status >= 500 or status in (408, 429) else PERMANENT
    # Anymail's requests errors are also the original requests exception: tell "never connected" apart.
    if isinstance(exc, requests.ConnectTimeout):
        return TRANSIENT
    if isinstance(exc, requests.ConnectionError) and _refused_before_sending(exc):
        return TRANSIENT
    if isinstance(exc, requests.RequestException):
        return AMBIGUOUS
    if isinstance(exc, smtplib.SMTPResponseException):
        return TRANSIENT if 400 <= exc.smtp_code < 500 else PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return TRANSIENT if codes and all(400 <= c < 500 for c in codes) else PERMANENT
    if isinstance(exc, ConnectionRefusedError | smtplib.SMTPConnectError):
        return TRANSIENT
    if isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError | OSError):
        return AMBIGUOUS
    return PERMANENT


def _refused_before_sending(exc: BaseException) -> bool:
    """True when no connection was ever made (refused, DNS, connect timeout): the ESP cannot have the message."""
    import urllib3.exceptions as u3

    seen: BaseException | None = exc
    while seen is not None:  # anymail wraps the requests error; urllib3's reason is further down
        reason = getattr(seen.args[0], "reason", None) if seen.args else None
        if isinstance(reason, u3.NewConnectionError | u3.ConnectTimeoutError | u3.NameResolutionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- Claiming and recovering ----------------------------------------------------------------------------------

def claim_batch(*, now: datetime, size: int) -> tuple[str, list[ScheduledEmail]]:
    """Claim up to `size` due rows for this process; returns the claim token and the rows with their leads."""
    claim = f"{_worker_name()}:{uuid.uuid4().hex[:12]}"
    ids = claim_ids(claim, now=now, size=size)
    if not ids:
        return claim, []
    # By primary key (the claim token narrows it to what we really got): index-driven at any table size.
    rows = list(ScheduledEmail.objects.filter(pk__in=ids, claimed_by=claim, status=Status.SENDING)
                .select_related("lead").order_by("send_at", "pk"))
    return claim, rows


def claim_ids(claim: str, *, now: datetime, size: int) -> list[int]:
    """Lease up to `size` due rows, earliest first, to `claim`; returns their ids."""
    if db_connection.vendor == "postgresql":
        return _claim_ids_postgresql(claim, now=now, size=size)
    return _claim_ids(claim, now=now, size=size)


def _claim_ids(claim: str, *, now: datetime, size: int) -> list[int]:
    """The plain version of _claim_ids_postgresql (a test compares the two)."""
    lease_until = now + timedelta(seconds=settings.DRIP_LEASE_SECONDS)
    due = ScheduledEmail.objects.filter(status=Status.SCHEDULED, send_at__lte=now).order_by("send_at", "pk")
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


def _claim_ids_postgresql(claim: str, *, now: datetime, size: int) -> list[int]:
    """The hot path, once per batch: the same lock-then-lease as one statement, so no transaction of four round
    trips and no IN list of the batch's ids to compile and quote. MATERIALIZED: the locking SELECT runs once.
    The status is written into the SQL so the planner always matches the partial index `due_email_idx`."""
    table = ScheduledEmail._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""WITH due AS MATERIALIZED (
                    SELECT id FROM {table} WHERE status = '{Status.SCHEDULED.value}' AND send_at <= %s
                     ORDER BY send_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
                UPDATE {table} AS e
                   SET status = %s, claimed_by = %s, lease_until = %s, handed_at = NULL, updated_at = %s
                  FROM due WHERE e.id = due.id
             RETURNING e.id""",  # noqa: S608 - our table and our constant
            [now, size, Status.SENDING, claim, now + timedelta(seconds=settings.DRIP_LEASE_SECONDS), now])
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
    """Move a paused lead's due row and the rest of their week so it resumes one email a morning."""
    moves: dict[int, datetime] = {}
    for row in rows:
        lead = row.lead
        later = list(ScheduledEmail.objects.filter(
            lead=lead, stream=ScheduledEmail.Stream.MARKETING, step__in=SEQUENCE_STEPS, status=Status.SCHEDULED,
        ).exclude(pk=row.pk).order_by("send_at"))
        assert lead.paused_until is not None
        times = mornings_from(lead.paused_until, time_zone=lead.time_zone, count=1 + len(later))
        moves[row.pk] = times[0]
        for other, send_at in zip(later, times[1:], strict=True):
            if other.send_at < send_at:
                other.send_at = send_at
                other.updated_at = now
        ScheduledEmail.objects.bulk_update([o for o in later if o.updated_at == now], ["send_at", "updated_at"])
    return moves


def send_batch(claim: str, rows: list[ScheduledEmail], *, now: datetime) -> Outcomes:
    """Send a claimed batch, writing each outcome as soon as it is known (emails/outcomes.py). Returns them all."""
    outcomes = Outcomes()
    ready: list[tuple[ScheduledEmail, Any]] = []
    paused: list[ScheduledEmail] = []
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
    outcomes_write(outcomes, claim, timezone.now())
    if ready:
        outcomes.merge(_hand_over(claim, ready))
    return outcomes


def _hand_over(claim: str, ready: list[tuple[ScheduledEmail, Any]]) -> Outcomes:
    """Send `ready` in chunks over one connection; each chunk's outcomes are written before the next is handed."""
    done = Outcomes()
    backend = get_connection()
    try:
        backend.open()
    except Exception as exc:  # noqa: BLE001 - nothing left us: every row may be retried
        for row, _ in ready:
            _record_error(row, exc, done, default=TRANSIENT)
        outcomes_write(done, claim, timezone.now())
        return done
    try:
        i = 0
        while i < len(ready):
            part = ready[i:i + _next_chunk()]
            waiting = [row.pk for row, _ in ready[i:]]
            started = time.monotonic()
            # The hand-off mark is what makes a crash safe (see module docstring). It also renews the lease.
            still_ours = mark_handed(claim, waiting, [row for row, _ in part], timezone.now())
            if still_ours != len(waiting):
                # Our lease ran out and another dispatcher recovered the rows: they are no longer ours to send.
                logger.error("lease lost mid-batch claim=%s: stopping before %d more", claim, len(waiting))
                return done
            chunk = Outcomes()
            connection_failed = False
            for n, (row, message) in enumerate(part):
                if not _send_one(backend, row, message, chunk):
                    # The connection itself failed: the rest would fail the same way (each after a timeout), and
                    # we know none of them left us, so they simply wait for the next attempt.
                    retry_at = timezone.now() + timedelta(seconds=backoff_seconds(1))
                    chunk.moved.update({later.pk: retry_at for later, _ in ready[i + n + 1:]})
                    connection_failed = True
                    break
            if not connection_failed:
                _learn_speed(len(part), time.monotonic() - started)  # the backend's speed, not our bookkeeping
            outcomes_write(chunk, claim, timezone.now())
            done.merge(chunk)
            if connection_failed:
                return done
            i += len(part)
    finally:
        try:
            backend.close()
        except Exception:  # noqa: BLE001 - the messages are already accepted or recorded
            logger.warning("closing the email backend failed", exc_info=True)
    return done


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


def _send_one(backend: Any, row: ScheduledEmail, message: Any, outcomes: Outcomes) -> bool:
    """Send one message and record its outcome. False when the connection itself failed (not the message)."""
    try:
        if backend.send_messages([message]) != 1:
            raise smtplib.SMTPException("the backend reported the message as not sent")
    except Exception as exc:  # noqa: BLE001 - classified below, per message
        kind = _record_error(row, exc, outcomes)
        answered = isinstance(exc, AnymailAPIError) and getattr(exc, "status_code", None) is not None
        return kind == PERMANENT or answered or isinstance(exc, smtplib.SMTPResponseException)
    status = getattr(message, "anymail_status", None)
    if status is not None and status.status and status.status <= {"rejected", "invalid"}:
        # Accepted by the API but refused for every recipient (e.g. an address the ESP knows bounced).
        outcomes.failed[row.pk] = f"ESP refused the recipient: {', '.join(sorted(status.status))}"
        return True
    esp_id = getattr(status, "message_id", None) if status else None
    # Anymail gives a set of ids when recipients differ; we send to one address, so one id (or our Message-ID).
    if not isinstance(esp_id, str) or not esp_id:
        esp_id = message.extra_headers.get("Message-ID", "")
    outcomes.sent[row.pk] = esp_id[:255]
    return True


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


def dispatch_batch(*, now: datetime | None = None, size: int | None = None) -> Outcomes:
    """Claim one batch, send it, record it. Returns what happened (empty when nothing was due)."""
    now = now or timezone.now()
    claim, rows = claim_batch(now=now, size=size or settings.DRIP_BATCH_SIZE)
    if not rows:
        return Outcomes()
    outcomes = send_batch(claim, rows, now=now)
    logger.info("dispatched batch claim=%s %s", claim, outcomes.counts())
    return outcomes


def dispatch_due(*, max_batches: int = 50, max_seconds: float = 30.0) -> int:
    """Recover expired leases, then send due batches until none is due or the time budget is spent."""
    recover_expired_leases(now=timezone.now())
    started = time.monotonic()
    handled = 0
    for _ in range(max_batches):
        outcomes = dispatch_batch()
        n = sum(outcomes.counts().values())
        handled += n
        if n == 0 or time.monotonic() - started > max_seconds:
            break
    return handled


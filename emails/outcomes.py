"""What happened to each claimed row, written with one UPDATE per kind of outcome.

The dispatcher writes outcomes as soon as it knows them: what it decided before sending (skipped, moved, render
failures) first, then each chunk as it leaves the backend. A crash therefore leaves at most one chunk `unknown`.

A dispatcher writes only rows it still holds (its claim token). One exception: a row whose lease ran out while we
were sending it has been set `unknown` by another dispatcher's recovery, keeping our claim token. What we know
for certain about it (the ESP accepted it, or answered with an error) is still true and is written over
`unknown`; what we do not know is left to reconciliation.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db.models import Case, Count, DateTimeField, F, OuterRef, Subquery, TextField, Value, When

from emails.backoff import exponential_backoff_seconds
from emails.models import WARMUP_WAITING, ScheduledEmail
from emails.tracking import unknown_rows_reconcile
from leads.models import Lead

Status = ScheduledEmail.Status
MAX_BACKOFF_SECONDS = 3600
# Outcomes that are facts about the ESP's answer, so they stand even after our lease was lost.
KNOWN_AFTER_LEASE_LOSS = [str(Status.SENDING), str(Status.UNKNOWN)]


def backoff_seconds(attempts: int) -> int:
    """The wait before a failed send's next try."""
    return exponential_backoff_seconds(attempts=attempts, first_seconds=settings.DRIP_RETRY_BASE_SECONDS,
                                       most_seconds=MAX_BACKOFF_SECONDS)


@dataclass
class Outcomes:
    sent: dict[int, str] = field(default_factory=dict)  # row id -> ESP message id
    skipped: dict[int, str] = field(default_factory=dict)  # row id -> reason
    failed: dict[int, str] = field(default_factory=dict)  # row id -> error
    retry: dict[int, tuple[str, int]] = field(default_factory=dict)  # row id -> (error, attempts so far)
    unknown: dict[int, str] = field(default_factory=dict)  # row id -> error
    moved: dict[int, datetime] = field(default_factory=dict)  # row id -> new send_at (pause, or not tried)
    waiting: dict[int, datetime] = field(default_factory=dict)  # row id -> its next morning (over the warm-up cap)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in vars(self).items() if v}

    def merge(self, other: "Outcomes") -> None:
        for name, value in vars(other).items():
            getattr(self, name).update(value)


def _case(mapping: dict[int, Any], output_field: Any) -> Case:
    return Case(*[When(pk=pk, then=Value(value)) for pk, value in mapping.items()], output_field=output_field)


def _mark_sent(sent: dict[int, str], claim: str, now: datetime) -> None:
    """The plain version of _mark_sent_postgresql (a test compares the two): the rows, then their leads' count of
    marketing emails since a click (emails/engagement.py), one UPDATE each."""
    ScheduledEmail.objects.filter(claimed_by=claim, status__in=KNOWN_AFTER_LEASE_LOSS, pk__in=sent).update(
        status=Status.SENT, sent_at=now, esp_message_id=_case(sent, TextField()), last_error="",
        attempts=F("attempts") + 1, lease_until=None, updated_at=now)
    # The rows this UPDATE marked (a row already sent before keeps an older sent_at), per lead: a lead may have two
    # in one chunk (the welcome and day 1).
    just_sent = ScheduledEmail.objects.filter(pk__in=sent, claimed_by=claim, status=Status.SENT, sent_at=now,
                                              stream=ScheduledEmail.Stream.MARKETING)
    per_lead = just_sent.filter(lead=OuterRef("pk")).values("lead").annotate(n=Count("pk")).values("n")
    Lead.objects.filter(pk__in=just_sent.values("lead")).update(
        marketing_since_click=F("marketing_since_click") + Subquery(per_lead))


def _mark_sent_postgresql(sent: dict[int, str], claim: str, now: datetime) -> None:
    """The hot path: two arrays instead of a CASE with one branch per row, which the ORM builds slowly. Each row
    finds its id's place in the first array; a join with unnest() instead was planned as a nested loop (the row
    estimate of a claimed chunk is 1) costing more than the update itself.

    The leads' count of marketing emails since a click (emails/engagement.py) is raised in the same statement, from
    the rows the UPDATE returns: no round trip of its own."""
    table, leads = ScheduledEmail._meta.db_table, Lead._meta.db_table
    ids = list(sent)
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"""WITH marked AS (
                    UPDATE {table} AS e
                       SET status = %s, sent_at = %s,
                           esp_message_id = (%s::text[])[array_position(%s::bigint[], e.id)],
                           last_error = '', attempts = e.attempts + 1, lease_until = NULL, updated_at = %s
                     WHERE e.id = ANY(%s::bigint[]) AND e.claimed_by = %s AND e.status = ANY(%s)
                 RETURNING e.lead_id, e.stream)
                UPDATE {leads} AS l SET marketing_since_click = l.marketing_since_click + m.n
                  FROM (SELECT lead_id, COUNT(*) AS n FROM marked WHERE stream = %s GROUP BY lead_id) AS m
                 WHERE l.id = m.lead_id""",  # noqa: S608 - our tables
            [Status.SENT, now, list(sent.values()), ids, now, ids, claim, KNOWN_AFTER_LEASE_LOSS,
             ScheduledEmail.Stream.MARKETING],
        )


def outcomes_write(outcomes: Outcomes, claim: str, now: datetime) -> None:
    # Each UPDATE names its rows by primary key, and only rows under our claim (see the module docstring).
    mine = ScheduledEmail.objects.filter(claimed_by=claim, status=Status.SENDING)
    known = ScheduledEmail.objects.filter(claimed_by=claim, status__in=KNOWN_AFTER_LEASE_LOSS)
    released = {"lease_until": None, "updated_at": now}
    if outcomes.sent and db_connection.vendor == "postgresql":
        _mark_sent_postgresql(outcomes.sent, claim, now)
    elif outcomes.sent:
        _mark_sent(outcomes.sent, claim, now)
    if outcomes.skipped:
        mine.filter(pk__in=outcomes.skipped).update(
            status=Status.SKIPPED, skip_reason=_case(outcomes.skipped, TextField()), **released)
    if outcomes.failed:
        known.filter(pk__in=outcomes.failed).update(
            status=Status.FAILED, last_error=_case(outcomes.failed, TextField()), attempts=F("attempts") + 1,
            **released)
    if outcomes.unknown:
        mine.filter(pk__in=outcomes.unknown).update(
            status=Status.UNKNOWN, last_error=_case(outcomes.unknown, TextField()), attempts=F("attempts") + 1,
            **released)
        # The ESP's webhook may have beaten us to it (delivery events come within seconds).
        unknown_rows_reconcile(row_ids=outcomes.unknown)
    if outcomes.retry:
        known.filter(pk__in=outcomes.retry).update(
            status=Status.SCHEDULED, attempts=F("attempts") + 1,
            last_error=_case({pk: error for pk, (error, _) in outcomes.retry.items()}, TextField()),
            send_at=_case({pk: now + timedelta(seconds=backoff_seconds(attempts))
                           for pk, (_, attempts) in outcomes.retry.items()}, DateTimeField()),
            claimed_by="", handed_at=None, **released)
    if outcomes.moved:
        mine.filter(pk__in=outcomes.moved).update(
            status=Status.SCHEDULED, send_at=_case(outcomes.moved, DateTimeField()), claimed_by="", handed_at=None,
            **released)
    if outcomes.waiting:
        # Marked, so the dashboard counts who waits for the warm-up (a claim replaces the mark).
        mine.filter(pk__in=outcomes.waiting).update(
            status=Status.SCHEDULED, send_at=_case(outcomes.waiting, DateTimeField()), claimed_by=WARMUP_WAITING,
            handed_at=None, **released)

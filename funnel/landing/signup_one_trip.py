"""A new address's signup in one round trip to PostgreSQL: the speed trick on the launch-day path.

The plain flow (services.signup_submit_plain) costs a new address five round trips: BEGIN, the lead and its consent
record, the mailbox lock and check, the confirmation row, COMMIT. Here one query message carries two statements,
which PostgreSQL runs as one implicit transaction (committed when the message is done, rolled back whole on error):

1. the lead and its consent record (ON CONFLICT DO NOTHING: a known address writes nothing), and in the same
   statement the mailbox lock and the new lead's id, kept for the next statement by `set_config(…, true)` (local
   to the transaction, and set on every call, so no earlier signup's id can leak into this one);
2. the confirmation row for that lead, unless its mailbox had one today or complained. A statement of its own: its
   snapshot is taken after the lock was granted, so it sees what the lock's previous holder committed
   (mailbox_check.py says why one statement would not).

Each row travels as one JSON parameter (leads.db.json_record), and both statements are prepared once per
connection (`PREPARE`, then `EXECUTE` at each signup), so PostgreSQL neither parses nor plans them again. The row
needs its send time, so its place under the hourly caps is booked in Redis first and given back when no row was
queued. A known address changes nothing here and takes the plain flow, as does anything but PostgreSQL with double
opt-in on. tests/bots/test_signup_one_trip.py holds this path and the plain flow to the same rows.
"""

import weakref
from datetime import UTC
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.services import dispatcher_kick
from funnel.landing.abuse import confirmation_book, confirmation_booking_count, confirmation_booking_release
from funnel.landing.mailbox_check import mailbox_lock_id, mailbox_refused_sql, mailbox_refused_text
from leads.db import insert_record_sql, json_record
from leads.models import ConsentRecord, Lead
from leads.services import Attribution, signup_values

_NEW_LEAD = "funnel.signup_lead"  # the transaction-local setting that carries the new lead's id to statement 2
_LEAD_STATEMENT, _CONFIRM_STATEMENT = "funnel_signup_lead", "funnel_signup_confirm"  # their names when prepared
_prepared: "weakref.WeakSet[Any]" = weakref.WeakSet()  # the connections (psycopg's) that have them


@cache
def _statements() -> tuple[str, str]:
    """The two statements, with %s placeholders: (lead record, consent record, lock id) and (the mailbox check's
    parameters, confirmation record)."""
    quote = connection.ops.quote_name
    pk = quote(Lead._meta.pk.column)
    refused_sql = mailbox_refused_text()
    lead_sql = insert_record_sql(Lead)
    consent_sql = insert_record_sql(ConsentRecord, computed={ConsentRecord._meta.get_field("lead").column: f"p.{pk}"},
                                    joined=", p")
    queue_sql = insert_record_sql(ScheduledEmail, computed={ScheduledEmail._meta.get_field("lead").column: "found.id"},
                                  joined=", found")
    # Only our own statements and the models' quoted names are formatted in; every value is a parameter.
    lead = (f"WITH p AS ({lead_sql}), c AS ({consent_sql}) "  # noqa: S608
            f"SELECT set_config('{_NEW_LEAD}', coalesce(max(p.{pk})::text, ''), true), pg_advisory_xact_lock(%s) "
            "FROM p")
    confirm = (f"WITH lead AS (SELECT nullif(current_setting('{_NEW_LEAD}', true), '')::bigint AS id), "  # noqa: S608
               f"found AS (SELECT id FROM lead WHERE id IS NOT NULL AND NOT EXISTS ({refused_sql})), "
               f"queued AS ({queue_sql}) SELECT (SELECT id FROM lead), (SELECT count(*) FROM queued)")
    return lead, confirm


def _numbered(sql: str) -> str:
    """%s placeholders as PREPARE's $1, $2, …"""
    parts = sql.split("%s")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


def _prepare_once() -> None:
    """PREPARE both statements on this connection, once: PostgreSQL then parses and plans them once per connection
    instead of at every signup (their planning was most of the database's time per signup). Prepared statements
    outlive a rolled-back transaction and end with the connection, which is how they are tracked here."""
    connection.ensure_connection()
    if connection.connection in _prepared:
        return
    lead, confirm = _statements()
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE {_LEAD_STATEMENT} AS {_numbered(lead)}; "
                       f"PREPARE {_CONFIRM_STATEMENT} AS {_numbered(confirm)}")
    _prepared.add(connection.connection)


def signup_new_address(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                       attribution: Attribution | None, consent_text: str) -> bool:
    """True when `email` was a new address and its signup is done: the lead, its consent record and its
    confirmation row (or none, when its mailbox had one today), as the plain flow writes them. False when nothing
    was written (a known address, or not PostgreSQL with double opt-in): the caller runs the plain flow."""
    if connection.vendor != "postgresql" or not settings.FUNNEL_DOUBLE_OPT_IN:
        return False
    now = timezone.now()
    lead, consent = signup_values(email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address,
                                  user_agent=user_agent, attribution=attribution, consent_text=consent_text)
    booking = confirmation_book(email=email, now=now)
    confirmation = {"step": "confirm", "stream": ScheduledEmail.Stream.TRANSACTIONAL, "key": f"confirm-{now:%Y-%m-%d}",
                    "context": {}, "send_at": booking.send_at}
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # as the plain flow's check
    _, refused_params = mailbox_refused_sql(key=lead["mailbox_sha256"], since=day_start)
    _prepare_once()
    with connection.cursor() as cursor:
        cursor.execute(f"EXECUTE {_LEAD_STATEMENT}(%s, %s, %s); "
                       f"EXECUTE {_CONFIRM_STATEMENT}({', '.join(['%s'] * (len(refused_params) + 1))})",
                       [json_record(Lead, lead), json_record(ConsentRecord, consent),
                        mailbox_lock_id(lead["mailbox_sha256"]), *refused_params,
                        json_record(ScheduledEmail, confirmation)])
        if not cursor.nextset():
            raise RuntimeError("the confirmation statement's result is missing")  # not a client-side-binding cursor
        lead_id, queued = cursor.fetchone()
    if lead_id is None:
        confirmation_booking_release(booking)
        return False
    if not queued:
        confirmation_booking_release(booking)  # the mailbox had its confirmation today, or complained
        return True
    confirmation_booking_count(booking, now=now)
    if booking.send_at <= now:
        transaction.on_commit(lambda: dispatcher_kick(transactional=True))
    return True

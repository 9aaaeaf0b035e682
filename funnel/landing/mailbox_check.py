"""Has this mailbox had its confirmation today, or complained? The question every signup asks, twice over.

`mailbox_refused_plain` asks it through the ORM, as written to be read. `mailbox_refused` is the speed trick on the
signup's hot path: the same query as one SQL text built once per process (building the ORM query, with its
Exists/OuterRef subquery, cost a quarter of a signup's Python time under gunicorn). tests/bots/test_mailbox_check.py
holds the two to the same answers. `mailbox_lock_and_refused` also takes the signup's per-mailbox lock, in the same
round trip on PostgreSQL.
"""

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from emails.models import ScheduledEmail
from emails.suppression import CONFIRMATION_STEPS
from leads.models import Lead


def mailbox_refused_plain(*, key: str, since: datetime) -> bool:
    """True when a lead of this mailbox complained, or was queued a confirmation at or after `since`."""
    mailed = ScheduledEmail.objects.filter(lead=OuterRef("pk"), step__in=CONFIRMATION_STEPS, created_at__gte=since)
    refused = Q(suppression=Lead.Suppression.COMPLAINT) | Q(Exists(mailed))
    return Lead.objects.filter(mailbox_sha256=key).filter(refused).exists()


@cache
def _sql() -> str:
    # Two branches, not `complained OR EXISTS (confirmation)`: PostgreSQL cannot turn an EXISTS under OR into a join,
    # and for a small emails table it planned that subquery as a hash of every confirmation row, read in full at
    # every signup (a cost that grows with the table). As a join each branch is an index lookup.
    q = connection.ops.quote_name
    lead, email = Lead._meta, ScheduledEmail._meta
    steps = ", ".join(["%s"] * len(CONFIRMATION_STEPS))
    return (f"SELECT 1 FROM {q(lead.db_table)} l WHERE l.{q('mailbox_sha256')} = %s "  # noqa: S608 - our names
            f"AND l.{q('suppression')} = %s UNION ALL "
            f"SELECT 1 FROM {q(lead.db_table)} l JOIN {q(email.db_table)} s "
            f"ON s.{q(email.get_field('lead').column)} = l.{q(lead.pk.column)} WHERE l.{q('mailbox_sha256')} = %s "
            f"AND s.{q('step')} IN ({steps}) AND s.{q('created_at')} >= %s LIMIT 1")


def mailbox_refused_text() -> str:
    """mailbox_refused's statement (a row when refused, none otherwise), with %s placeholders, to embed."""
    return _sql()


def mailbox_refused_sql(*, key: str, since: datetime) -> tuple[str, list[Any]]:
    """mailbox_refused's statement and its parameters, in the order of its placeholders."""
    since_db = ScheduledEmail._meta.get_field("created_at").get_db_prep_value(since, connection)
    return _sql(), [key, Lead.Suppression.COMPLAINT, key, *CONFIRMATION_STEPS, since_db]


def mailbox_lock_id(key: str) -> int:
    """The advisory lock's number for a mailbox key (its first 60 bits, which fit PostgreSQL's bigint)."""
    return int(key[:15], 16)


def mailbox_refused(*, key: str, since: datetime) -> bool:
    """mailbox_refused_plain, as one statement whose text is built once."""
    with connection.cursor() as cursor:
        cursor.execute(*mailbox_refused_sql(key=key, since=since))
        return cursor.fetchone() is not None


def mailbox_lock_and_refused(*, key: str, since: datetime) -> bool:
    """Serialise confirmations to this mailbox until the transaction ends (two spellings signing up at the same
    moment must not both see "nothing sent today"), then answer mailbox_refused.

    PostgreSQL: one round trip carrying two statements, the advisory lock, then the check. Each statement of a
    READ COMMITTED transaction reads its own snapshot, taken when it starts, so the check sees whatever a
    transaction that held the lock before us committed, as with two round trips. (One statement doing both would
    read the snapshot taken before it waited for the lock.) Django binds parameters client-side on psycopg, which
    lets one execute() carry both. Elsewhere no lock (SQLite runs one writer at a time) and the check alone."""
    if connection.vendor != "postgresql":
        return mailbox_refused(key=key, since=since)
    sql, params = mailbox_refused_sql(key=key, since=since)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock(%s); {sql}", [mailbox_lock_id(key), *params])
        if not cursor.nextset():
            raise RuntimeError("the mailbox check's result is missing")  # not a client-side-binding cursor
        return cursor.fetchone() is not None

"""Lead.marketing_since_click: the marketing emails sent to a reader since their last human click (or ever).

Segments ask "no human click in the last N marketing emails" and the sunset picks its readers by it; counting
sent rows against clicks on every such question took seconds at a million leads, so the count is kept on the lead:
- raised by the dispatcher as rows are marked sent, one statement per chunk (emails/outcomes.py), and where an
  `unknown` row is settled as sent (emails/tracking.py, emails/esp_lookup.py);
- set to 0 where a click is judged a person's (`click_human_record`), with the sunset's answer (leads/sunset.py);
- counted again from the rows for a lead whose click turned out to be a scanner's (`since_click_recount`).
A scanner's or bot's click never resets it. The migration that added it filled it with the same count
(`since_click_recount` with no ids).
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import F

from emails.models import Click, ScheduledEmail
from leads.models import Lead
from leads.sunset import lead_activity_record

_RECOUNT = """
UPDATE {lead} SET marketing_since_click = (
    SELECT COUNT(*) FROM {email} e
     WHERE e.lead_id = {lead}.id AND e.stream = 'marketing' AND e.status = 'sent'
       AND NOT EXISTS (SELECT 1 FROM {click} c WHERE c.lead_id = e.lead_id AND c.machine = ''
                          AND c.created_at >= e.sent_at))
 WHERE {lead}.id = ANY(%s)
"""
_RECOUNT_ALL = """
UPDATE {lead} SET marketing_since_click = counted.n FROM (
    SELECT e.lead_id, COUNT(*) AS n
      FROM {email} e
      LEFT JOIN (SELECT lead_id, MAX(created_at) AS last_click FROM {click} WHERE machine = ''
                  GROUP BY lead_id) c ON c.lead_id = e.lead_id
     WHERE e.stream = 'marketing' AND e.status = 'sent'
       AND (c.last_click IS NULL OR e.sent_at IS NULL OR e.sent_at > c.last_click)
     GROUP BY e.lead_id) AS counted
 WHERE {lead}.id = counted.lead_id
"""


def _tables() -> dict[str, str]:
    return {"lead": Lead._meta.db_table, "email": ScheduledEmail._meta.db_table, "click": Click._meta.db_table}


def since_click_recount(*, lead_ids: Iterable[int] | None = None) -> None:
    """Count again from the rows and the clicks: these leads' (a handful), or every lead's (the backfill; one
    statement of two GROUP BYs, which PostgreSQL and SQLite 3.33+ both run)."""
    with connection.cursor() as cursor:
        if lead_ids is None:
            cursor.execute(_RECOUNT_ALL.format(**_tables()))
            return
        ids = list(lead_ids)
        if not ids:
            return
        if connection.vendor == "postgresql":
            cursor.execute(_RECOUNT.format(**_tables()), [ids])
        else:  # SQLite has no arrays: the same statement with an IN list
            sql = _RECOUNT.format(**_tables()).replace("= ANY(%s)", f"IN ({', '.join(['%s'] * len(ids))})")
            cursor.execute(sql, ids)


def since_click_raise(*, lead_id: int) -> None:
    """One more marketing email reached this reader (a row settled as sent outside the dispatcher's chunks)."""
    Lead.objects.filter(pk=lead_id).update(marketing_since_click=F("marketing_since_click") + 1)


def click_human_record(*, lead_id: int, how: str) -> str:
    """A person clicked one of our links: the count starts again, and an open sunset cycle closes (the reader is
    kept, or revived). Returns the sunset action recorded, or ""."""
    return lead_activity_record(lead_id=lead_id, reason=how)

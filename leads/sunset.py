"""The lead's side of the sunset (emails/sunset.py asks, waits, and stops the marketing mail): a reader who stops
reading is asked once whether they still want our emails, and without an answer becomes inactive.

State on the lead: `sunset_asked_at` (a cycle is open), `inactive_since` (no marketing mail), and the history in
SunsetChange (the timeline, the dashboard's "revived"). A person's answer, whatever form it takes (a human click
on any of our links, a save on the preferences page), closes the cycle: `lead_activity_record`.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead, SunsetChange

Action = SunsetChange.Action


@transaction.atomic
def lead_activity_record(*, lead_id: int, reason: str, now: datetime | None = None) -> str:
    """A person showed they read us (`reason` says how, for the timeline). Their count of marketing emails since a
    click starts again at 0, and an open sunset cycle closes: asked → kept, inactive → revived. Returns the action
    recorded, or "" when no cycle was open (the common case: one UPDATE, one indexed read)."""
    now = now or timezone.now()
    Lead.objects.filter(pk=lead_id, marketing_since_click__gt=0).update(marketing_since_click=0)
    lead = (Lead.objects.select_for_update()
            .filter(Q(sunset_asked_at__isnull=False) | Q(inactive_since__isnull=False), pk=lead_id).first())
    if lead is None:
        return ""
    action = Action.REVIVED if lead.inactive_since else Action.KEPT
    lead.sunset_asked_at = lead.inactive_since = None
    lead.save(update_fields=["sunset_asked_at", "inactive_since"])
    SunsetChange.objects.create(lead=lead, action=action, reason=reason[:200], created_at=now)
    return str(action)


@transaction.atomic
def leads_sunset_ask(*, lead_ids: Iterable[int], now: datetime) -> list[int]:
    """Open a cycle for these leads (their "still want these?" email is queued by the caller in the same
    transaction). Only leads with no cycle open are touched. Returns their ids."""
    ids = list(Lead.objects.filter(pk__in=list(lead_ids), sunset_asked_at__isnull=True, inactive_since__isnull=True)
               .values_list("pk", flat=True))
    Lead.objects.filter(pk__in=ids).update(sunset_asked_at=now)
    SunsetChange.objects.bulk_create([SunsetChange(lead_id=pk, action=Action.ASKED, created_at=now) for pk in ids])
    return ids


@transaction.atomic
def leads_sunset_inactivate(*, lead_ids: Iterable[int], now: datetime) -> int:
    """These asked leads did not answer in time (the caller knows when they were asked): they become inactive. A
    reader who bought meanwhile is never made inactive (buyers are never sunset): their cycle just closes.
    Set-based; returns how many became inactive."""
    asked = Lead.objects.filter(pk__in=list(lead_ids), sunset_asked_at__isnull=False)
    asked.filter(is_customer=True).update(sunset_asked_at=None)
    ids = list(asked.filter(is_customer=False).values_list("pk", flat=True))
    Lead.objects.filter(pk__in=ids).update(sunset_asked_at=None, inactive_since=now)
    SunsetChange.objects.bulk_create([SunsetChange(lead_id=pk, action=Action.INACTIVE, reason="no answer",
                                                   created_at=now) for pk in ids])
    return len(ids)


def sunset_counts() -> dict[str, int]:
    """For the dashboard: readers inactive now, asked and waiting now, and revivals ever. One statement of three
    counts, each on a partial or small index, whatever the size of the list."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT COUNT(*) FROM {Lead._meta.db_table} WHERE inactive_since IS NOT NULL),
                       (SELECT COUNT(*) FROM {Lead._meta.db_table} WHERE sunset_asked_at IS NOT NULL),
                       (SELECT COUNT(*) FROM {SunsetChange._meta.db_table} WHERE action = %s)""",  # noqa: S608
            [Action.REVIVED])
        inactive, asked, revived = cursor.fetchone() or (0, 0, 0)
    return {"inactive": inactive, "asked": asked, "revived": revived}

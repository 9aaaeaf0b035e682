"""Who is in a segment: one compiled queryset (no Python loop over leads), and its count.

The API the rest of the sender builds on (broadcasts insert their rows from `segment_leads` in one INSERT … SELECT):

    segment_leads(segment, now=None) -> QuerySet[Lead]
    segment_count(segment, now=None) -> int
    segment_q(segment, now=None) -> Q        (to narrow any Lead queryset, e.g. the admin's lead list)

Erased leads are never in a segment: they are anonymous rows kept for the funnel's counts, not readers. Whether a
reader may be mailed (unsubscribed, suppressed, paused) is NOT decided here: a segment is what the marketer asked
for, and the dispatcher re-checks every lead at send time.
"""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from emails.segments.conditions import Condition, condition_q
from emails.segments.models import Segment
from leads.models import Lead


def conditions_q(conditions: list[Condition], *, match: str, now: datetime | None = None) -> Q:
    """The conditions (canonical, see conditions.validate_conditions) joined with AND (`all`) or OR (`any`).
    No conditions: every reader."""
    now = now or timezone.now()
    parts = [condition_q(condition, now=now) for condition in conditions]
    combined = Q()
    for part in parts:
        combined = combined | part if match == Segment.Match.ANY and combined else combined & part
    return combined & ~Q(status=Lead.Status.ERASED)


def segment_q(segment: Segment, *, now: datetime | None = None) -> Q:
    return conditions_q(list(segment.conditions), match=segment.match, now=now)


def segment_leads(segment: Segment, *, now: datetime | None = None) -> QuerySet[Lead]:
    """The segment's readers now, as one queryset (EXISTS subqueries for tags, emails and clicks)."""
    return Lead.objects.filter(segment_q(segment, now=now))


def segment_count(segment: Segment, *, now: datetime | None = None) -> int:
    return segment_leads(segment, now=now).count()

"""Reads for broadcasts: who a broadcast would go to, and its rows."""

from django.db.models import QuerySet

from emails.broadcasts.models import Broadcast
from emails.models import BROADCAST_STEP_PREFIX, ScheduledEmail
from emails.segments.selectors import segment_leads
from leads.models import Lead


def broadcast_audience(broadcast: Broadcast) -> QuerySet[Lead]:
    """The segment's readers who can be mailed now: subscribed, not suppressed, not made inactive by the sunset
    (emails/sunset.py; a buyer never is). A row is made for each when the broadcast is scheduled; the dispatcher
    re-checks each of them at send time (an unsubscribe in between, a complaint, a pause) like every other email."""
    return segment_leads(broadcast.segment).filter(status=Lead.Status.SUBSCRIBED,
                                                   suppression=Lead.Suppression.NONE).exclude(
        inactive_since__isnull=False, is_customer=False)


def broadcast_rows(broadcast: Broadcast) -> QuerySet[ScheduledEmail]:
    """The broadcast's rows. The prefix condition repeats the partial index's (broadcast_email_idx), so the planner
    reads that small index instead of the whole outbox."""
    return ScheduledEmail.objects.filter(step=broadcast.step, step__startswith=BROADCAST_STEP_PREFIX)

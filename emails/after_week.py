"""What stops the mail that comes after the week (the follow-up, broadcasts, the sunset), read by the dispatcher
before each send like every other rule: a purchase, a pause or a stop needs no call into the scheduler."""

from datetime import datetime

from emails.models import BROADCAST_STEP_PREFIX, FOLLOW_UP_STEPS, SUNSET_STEP, ScheduledEmail, copy_step
from leads.models import Lead


def after_week_skip_reason(lead: Lead, row: ScheduledEmail, now: datetime) -> str:
    """Why `lead` must not get this follow-up or broadcast row now ('' means send). Unsubscribes, bounces and
    complaints are the dispatcher's general rules; these come on top.

    A paused reader is skipped, not postponed: the follow-up and a broadcast are timely or not worth sending.
    The sunset (emails/sunset.py): an inactive reader gets no marketing mail unless they bought (a buyer's reminders
    carry their practice log), and a cycle's question is not sent once answered."""
    if lead.inactive_since and not lead.is_customer:
        return "inactive"
    if copy_step(row.step) == SUNSET_STEP and (lead.is_customer or lead.sunset_asked_at is None):
        return "answered"
    follow_up = row.step in FOLLOW_UP_STEPS
    if follow_up and lead.is_customer:
        return "bought"
    if follow_up and lead.reminders_stopped_at:
        return "reminders_stopped"
    if (follow_up or row.step.startswith(BROADCAST_STEP_PREFIX)) and lead.paused_until and lead.paused_until > now:
        return "paused"
    return ""

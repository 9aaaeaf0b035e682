"""What a lead's suppression stops, read by the dispatcher before every send (emails/dispatch.py).

Marketing mail stops for any suppression. Transactional mail is mail the reader asked for (a sign-in link, a
receipt), so only a hard bounce (the address is gone) stops all of it, with one exception: confirmation mail.
Anyone can type anyone's address into the signup form, so a confirmation is not proof the owner asked for it,
and after a spam complaint that mailbox gets none, including one queued before the complaint arrived.
"""

from django.utils import timezone

from emails.models import ScheduledEmail
from leads.models import Lead

# The double opt-in emails: the first one a signup queues, and the reminder 24 hours later.
CONFIRMATION_STEPS = ("confirm", "confirm-reminder")


def transactional_stopped_by(lead: Lead, step: str) -> str:
    """The suppression that stops this transactional email to this lead, or '' when it may go."""
    if lead.suppression == Lead.Suppression.HARD_BOUNCE:
        return Lead.Suppression.HARD_BOUNCE
    if lead.suppression == Lead.Suppression.COMPLAINT and step in CONFIRMATION_STEPS:
        return Lead.Suppression.COMPLAINT
    return ""


def confirmations_skip_for_mailbox(*, lead: Lead) -> int:
    """After a complaint: the confirmations queued for any spelling of this mailbox (other leads with the same
    mailbox key) are skipped now, since the dispatcher's re-check reads only each row's own lead. Returns how many."""
    if not lead.mailbox_sha256:
        return 0
    return ScheduledEmail.objects.filter(
        lead__mailbox_sha256=lead.mailbox_sha256, step__in=CONFIRMATION_STEPS, status=ScheduledEmail.Status.SCHEDULED,
    ).update(status=ScheduledEmail.Status.SKIPPED, skip_reason=Lead.Suppression.COMPLAINT, updated_at=timezone.now())

"""What a lead's suppression stops, read by the dispatcher before every send (emails/dispatch.py).

Marketing mail stops for any suppression. Transactional mail is mail the reader asked for (a sign-in link, a
receipt), so only a hard bounce (the address is gone) stops all of it, with one exception: confirmation mail.
Anyone can type anyone's address into the signup form, so a confirmation is not proof the owner asked for it,
and after a spam complaint that mailbox gets none, including one queued before the complaint arrived.
"""

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

"""Reads for the checkout pages that are more than one line."""

from emails.models import ScheduledEmail
from funnel.checkout.start import upgrade_token_read
from leads import tokens
from leads.models import Lead


def upgrade_link_read(token: str) -> tuple[Lead | None, int | None]:
    """(the lead an upgrade link is for, the id of the email it came in): no lead for a bad or expired link or an
    erased lead."""
    try:
        lead_id, row_id = upgrade_token_read(token)
    except tokens.BadToken:
        return None, None
    return Lead.objects.filter(pk=lead_id).exclude(status=Lead.Status.ERASED).first(), row_id


def lead_email_row(*, lead: Lead, row_id: int | None) -> ScheduledEmail | None:
    """The email `row_id` if it was sent to `lead` (a link's row id is only trusted for its own lead)."""
    return ScheduledEmail.objects.filter(pk=row_id, lead=lead).first() if row_id else None

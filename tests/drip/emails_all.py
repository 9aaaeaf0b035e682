"""Every email we send, rendered for one reader the way the dispatcher renders it (shared by the email tests)."""

from datetime import UTC, datetime

from emails.compose import RenderedEmail
from emails.content.loading import shipped_copy
from emails.models import ScheduledEmail
from emails.rendering import render_email
from emails.services import email_queue, sequence_enrol
from funnel.models import Purchase
from leads.models import Lead


def all_steps() -> list[str]:
    """Every email there is shipped copy for: a new email is covered without touching the tests."""
    return sorted(shipped_copy())


def email_row(lead: Lead, step: str) -> ScheduledEmail:
    """The row for `step`, with what its email needs to show everything it can (the receipt, say)."""
    if not ScheduledEmail.objects.filter(lead=lead, step="welcome").exists():
        sequence_enrol(lead=lead)
    row = ScheduledEmail.objects.filter(lead=lead, step=step).first()
    if row is not None:
        return row
    context: dict[str, object] = {}
    if step in ("access", "duplicate-refunded", "order-review"):
        purchase = Purchase.objects.create(
            stripe_session_id=f"cs_test_layout_{lead.pk}_{step}", lead=lead, amount_cents=997, currency="usd",
            created_at=datetime(2026, 9, 30, 12, tzinfo=UTC))  # the longest date: "September 30, 2026"
        context = {"purchase_id": purchase.pk}
    elif step == "privacy-link":
        context = {"action": "erase"}
    return email_queue(lead=lead, step=step, context=context)


def render_step(lead: Lead, step: str) -> RenderedEmail:
    return render_email(lead, email_row(lead, step))

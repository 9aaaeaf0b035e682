"""A lead's whole story in time order, for the lead's admin page.

Lives in `funnel` because it reads leads, emails and money together (leads must not import the others).
A fixed number of queries whatever the lead did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.models import CheckoutSession, PracticeSession, Purchase
from leads.models import Lead, SuppressionChange


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # signup, consent, confirmed, email, click, checkout, purchase, refund, practice, unsubscribed,
    # suppression, tag, sunset, erased
    title: str
    details: list[str] = field(default_factory=list)


def _suppression_entries(lead: Lead) -> list[TimelineEntry]:
    """Each suppression and each lift, with who lifted it and why (leads.SuppressionChange)."""
    entries = []
    for change in lead.suppression_changes.all():
        lifted = change.action == SuppressionChange.Action.LIFTED
        title = (f"Suppression lifted ({change.get_suppression_display()})" if lifted
                 else f"Suppressed: {change.get_suppression_display()}")
        details = [f"by {change.by}" if change.by else ("by the reader" if lifted else "from the ESP's events")]
        if change.reason:
            details.append(f"reason: {change.reason}")
        entries.append(TimelineEntry(at=change.created_at, kind="suppression", title=title, details=details))
    if not entries and lead.suppressed_at:
        # Set before suppressions were recorded (or by seed_demo): only the current state is known.
        entries.append(TimelineEntry(at=lead.suppressed_at, kind="suppression",
                                     title=f"Suppressed: {lead.get_suppression_display()}"))
    return entries


def _tag_entries(lead: Lead) -> list[TimelineEntry]:
    """Each tag added or removed, how (admin, an email's link, an import) and by which staff user."""
    entries = []
    for change in lead.tag_changes.all():
        details = [change.get_source_display() + (f" ({change.by})" if change.by else "")]
        title = f"{change.get_action_display()}: {change.tag}"
        entries.append(TimelineEntry(at=change.created_at, kind="tag", title=title, details=details))
    return entries


def _sunset_entries(lead: Lead) -> list[TimelineEntry]:
    """Each sunset step: asked, kept, inactive, revived, and what answered (leads.SunsetChange)."""
    return [TimelineEntry(at=change.created_at, kind="sunset", title=change.get_action_display(),
                          details=[change.reason] if change.reason else [])
            for change in lead.sunset_changes.all()]


def lead_timeline(*, lead: Lead) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = [
        TimelineEntry(
            at=lead.created_at,
            kind="signup",
            title="Signed up",
            details=[
                f"source: {lead.utm_source or '(direct)'} / {lead.utm_medium or '-'} / {lead.utm_campaign or '-'}",
                *([f"landing page: {lead.landing_path}"] if lead.landing_path else []),
            ],
        )
    ]
    for consent in lead.consents.all():
        details = [f"version {consent.consent_version or '-'}"]
        if consent.ip_address:
            details.append(f"IP {consent.ip_address}")
        if consent.consent_text:
            details.append(f"agreed to: “{consent.consent_text}”")
        entries.append(
            TimelineEntry(at=consent.created_at, kind="consent", title=f"Consent: {consent.get_action_display()}",
                          details=details)
        )
    if lead.confirmed_at:
        entries.append(TimelineEntry(at=lead.confirmed_at, kind="confirmed", title="Confirmed the email address"))

    emails = (
        ScheduledEmail.objects.filter(lead=lead)
        .prefetch_related(Prefetch("events", queryset=EmailEvent.objects.order_by("occurred_at")))
        .order_by("send_at")
    )
    for row in emails:
        details = [f"{event.occurred_at:%Y-%m-%d %H:%M} {event.event_type}"
                   + (f" ({event.description})" if event.description else "") for event in row.events.all()]
        if row.skip_reason:
            details.insert(0, f"skipped: {row.skip_reason}")
        if row.last_error:
            details.insert(0, f"error: {row.last_error[:200]}")
        entries.append(
            TimelineEntry(
                at=row.sent_at or row.send_at,
                kind="email",
                title=f"Email “{row.step}” ({row.stream}) — {row.get_status_display()}",
                details=details,
            )
        )
    for click in Click.objects.filter(lead=lead).select_related("scheduled_email"):
        source = f" in “{click.scheduled_email.step}”" if click.scheduled_email else ""
        entries.append(TimelineEntry(at=click.created_at, kind="click",
                                     title=f"Clicked {click.get_target_display()}{source}"))
    for checkout in CheckoutSession.objects.filter(lead=lead).select_related("scheduled_email"):
        source = f" from “{checkout.scheduled_email.step}”" if checkout.scheduled_email else ""
        entries.append(
            TimelineEntry(at=checkout.created_at, kind="checkout",
                          title=f"Started checkout{source} — {checkout.get_status_display()}",
                          details=[checkout.stripe_session_id])
        )
    for purchase in Purchase.objects.filter(lead=lead).select_related("scheduled_email"):
        credit = f", credited to “{purchase.scheduled_email.step}”" if purchase.scheduled_email else ""
        entries.append(
            TimelineEntry(
                at=purchase.created_at,
                kind="purchase",
                title=f"Purchase {purchase.amount_cents / 100:.2f} {purchase.currency.upper()}{credit}",
                details=[f"status: {purchase.get_status_display()}", purchase.stripe_session_id],
            )
        )
        if purchase.refunded_at:
            entries.append(TimelineEntry(at=purchase.refunded_at, kind="refund",
                                         title=f"Refunded {purchase.amount_cents / 100:.2f}"))
        if purchase.disputed_at:
            entries.append(TimelineEntry(at=purchase.disputed_at, kind="refund", title="Payment disputed"))
    for session in PracticeSession.objects.filter(lead=lead):
        pain = (f"pain {session.pain_before} → {session.pain_after}"
                if session.pain_before is not None and session.pain_after is not None else "pain not logged")
        entries.append(
            TimelineEntry(at=session.created_at, kind="practice",
                          title=f"App session for {session.local_date}",
                          details=[", ".join(session.areas) or "no areas", pain])
        )
    if lead.unsubscribed_at:
        entries.append(TimelineEntry(at=lead.unsubscribed_at, kind="unsubscribed", title="Unsubscribed",
                                     details=[lead.unsubscribe_reason] if lead.unsubscribe_reason else []))
    entries += _suppression_entries(lead)
    entries += _tag_entries(lead)
    entries += _sunset_entries(lead)
    if lead.erased_at:
        entries.append(TimelineEntry(at=lead.erased_at, kind="erased", title="Personal data erased"))
    return sorted(entries, key=lambda entry: entry.at)

"""Receiver of anymail's `tracking` signal: store each ESP event once, suppress, reconcile `unknown` rows.

Quick and idempotent on `event_id`, as anymail's own webhook guidance asks: ESPs retry deliveries.
"""

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from emails.models import EmailEvent, ScheduledEmail
from leads.models import Lead
from leads.services import lead_suppress

logger = logging.getLogger(__name__)

SUPPRESSING_EVENTS = {
    EventType.BOUNCED: Lead.Suppression.HARD_BOUNCE,
    EventType.COMPLAINED: Lead.Suppression.COMPLAINT,
    EventType.UNSUBSCRIBED: Lead.Suppression.ESP_UNSUBSCRIBE,
}
# The ESP refused to send because the address bounced before: as final as a hard bounce.
HARD_REJECT_REASONS = {"bounced", "invalid"}
# Any of these proves the ESP accepted the message, so an `unknown` row was in fact sent.
ACCEPTED_EVENTS = {EventType.QUEUED, EventType.SENT, EventType.DELIVERED, EventType.OPENED, EventType.CLICKED,
                   EventType.BOUNCED, EventType.COMPLAINED, EventType.UNSUBSCRIBED, EventType.AUTORESPONDED}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _row_for(event: AnymailTrackingEvent) -> ScheduledEmail | None:
    row_id = _int_or_none((event.metadata or {}).get("row_id"))
    if row_id is not None:
        row = ScheduledEmail.objects.filter(pk=row_id).first()
        if row is not None:
            return row
    if event.message_id:
        return ScheduledEmail.objects.filter(esp_message_id=str(event.message_id)).first()
    return None


def _event_id(event: AnymailTrackingEvent, esp_name: str) -> str:
    if event.event_id:
        return str(event.event_id)[:255]
    # Some ESPs send no id: this combination is what makes a retried delivery recognisable.
    return f"{esp_name}:{event.message_id}:{event.event_type}:{event.timestamp}:{event.recipient}"[:255]


@transaction.atomic
def email_event_record(*, event: AnymailTrackingEvent, esp_name: str = "") -> EmailEvent | None:
    """Store one tracking event and act on it. Returns None for ignored or already-seen events."""
    if event.event_type == EventType.DEFERRED:
        return None  # a soft bounce the ESP keeps retrying: nothing for us to do
    row = _row_for(event)
    lead_id = row.lead_id if row else _int_or_none((event.metadata or {}).get("lead_id"))
    lead = Lead.objects.filter(pk=lead_id).first() if lead_id else None
    try:
        with transaction.atomic():
            stored = EmailEvent.objects.create(
                event_id=_event_id(event, esp_name), event_type=str(event.event_type)[:32], scheduled_email=row,
                lead=lead, esp_message_id=str(event.message_id or "")[:255],
                occurred_at=event.timestamp or timezone.now(),
                description=str(event.description or event.mta_response or event.reject_reason or "")[:500],
            )
    except IntegrityError:
        return None  # seen before: the ESP retried its webhook
    if lead is not None:
        reason = SUPPRESSING_EVENTS.get(event.event_type)
        if event.event_type == EventType.REJECTED and event.reject_reason in HARD_REJECT_REASONS:
            reason = Lead.Suppression.HARD_BOUNCE
        if reason:
            lead_suppress(lead=lead, reason=reason)
    if row is not None and row.status == ScheduledEmail.Status.UNKNOWN:
        _reconcile(row, event)
    return stored


def _reconcile(row: ScheduledEmail, event: AnymailTrackingEvent) -> None:
    now = timezone.now()
    if event.event_type in ACCEPTED_EVENTS:
        row.status = ScheduledEmail.Status.SENT
        row.sent_at = row.handed_at or event.timestamp or now
        row.esp_message_id = row.esp_message_id or str(event.message_id or "")[:255]
        row.last_error = ""
    elif event.event_type in (EventType.REJECTED, EventType.FAILED):
        row.status = ScheduledEmail.Status.FAILED
        row.last_error = f"ESP {event.event_type}: {event.reject_reason or event.description or ''}"[:2000]
    else:
        return
    row.updated_at = now
    row.save(update_fields=["status", "sent_at", "esp_message_id", "last_error", "updated_at"])
    logger.info("reconciled unknown row=%s as %s from event %s", row.pk, row.status, event.event_type)


@receiver(tracking, dispatch_uid="emails.tracking.on_tracking")
def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str = "", **_: Any) -> None:
    email_event_record(event=event, esp_name=esp_name)

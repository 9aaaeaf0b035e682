"""Receiver of anymail's `tracking` signal: store each ESP event once, suppress, reconcile `unknown` rows.

Quick and idempotent on `event_id`, as anymail's own webhook guidance asks: ESPs retry deliveries.

Events and `unknown` rows meet from either side. A delivery webhook usually arrives within seconds, while its row is
still `sending`; if the dispatcher then dies, the row becomes `unknown` later. So an event that finds its row
`unknown` reconciles it, and a row that becomes `unknown` is reconciled from the events already stored
(`unknown_rows_reconcile`, called by the dispatcher). The event locks its row first, so a lease recovery running
at the same moment either sees the stored event or is seen by it.
"""

import logging
from collections.abc import Iterable
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from emails import signals
from emails.bounces import HARD, SOFT, bounce_kind, soft_bounces_suppress
from emails.deliverability.brake import brake_evaluate
from emails.engagement import since_click_raise
from emails.models import EmailEvent, ScheduledEmail
from emails.suppression import confirmations_skip_for_mailbox
from leads.models import Lead
from leads.services import lead_suppress

logger = logging.getLogger(__name__)

SUPPRESSING_EVENTS = {
    EventType.COMPLAINED: Lead.Suppression.COMPLAINT,
    EventType.UNSUBSCRIBED: Lead.Suppression.ESP_UNSUBSCRIBE,
}
# The ESP had the message but did not send it. Every other event (queued, sent, delivered, deferred, bounced,
# opened, clicked, complained…) proves the ESP accepted it: such a row was sent, and must never be sent again.
NOT_ACCEPTED_EVENTS = {EventType.REJECTED, EventType.FAILED}
# Our own timeline entry when a row the ESP had no record of is sent again (emails/esp_lookup.py): not the ESP's word.
RESENT = "resent"
NOT_EVIDENCE = {*NOT_ACCEPTED_EVENTS, RESENT}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _row_for(event: AnymailTrackingEvent) -> ScheduledEmail | None:
    # Locked until this event is stored: see the module docstring.
    rows = ScheduledEmail.objects.select_for_update()
    row_id = _int_or_none((event.metadata or {}).get("row_id"))
    if row_id is not None:
        row = rows.filter(pk=row_id).first()
        if row is not None:
            return row
    if event.message_id:
        return rows.filter(esp_message_id=str(event.message_id)).order_by("pk").first()
    return None


def _event_id(event: AnymailTrackingEvent, esp_name: str) -> str:
    if event.event_id:
        return str(event.event_id)[:255]
    # Some ESPs send no id: this combination is what makes a retried delivery recognisable.
    return f"{esp_name}:{event.message_id}:{event.event_type}:{event.timestamp}:{event.recipient}"[:255]


@transaction.atomic
def email_event_record(*, event: AnymailTrackingEvent, esp_name: str = "") -> EmailEvent | None:
    """Store one tracking event and act on it. Returns None for ignored or already-seen events."""
    bounce = bounce_kind(event, esp_name)
    if event.event_type == EventType.DEFERRED and not bounce:
        return None  # the ESP keeps retrying: nothing for us to do
    row = _row_for(event)
    lead_id = row.lead_id if row else _int_or_none((event.metadata or {}).get("lead_id"))
    lead = Lead.objects.filter(pk=lead_id).first() if lead_id else None
    try:
        with transaction.atomic():
            stored = EmailEvent.objects.create(
                event_id=_event_id(event, esp_name), event_type=str(event.event_type)[:32], scheduled_email=row,
                lead=lead, esp_message_id=str(event.message_id or "")[:255],
                occurred_at=event.timestamp or timezone.now(), bounce=bounce,
                description=str(event.description or event.mta_response or event.reject_reason or "")[:500],
            )
    except IntegrityError:
        return None  # seen before: the ESP retried its webhook
    if lead is not None:
        _suppress(lead, event, bounce, esp_name)
        _announce(lead, stored)
    if row is not None and row.status == ScheduledEmail.Status.UNKNOWN:
        _reconcile(row, [stored])
    return stored


def _suppress(lead: Lead, event: AnymailTrackingEvent, bounce: str, esp_name: str) -> None:
    by = esp_name or "the ESP"
    if bounce == HARD:
        lead_suppress(lead=lead, reason=Lead.Suppression.HARD_BOUNCE, note=f"hard bounce reported by {by}")
    elif bounce == SOFT and soft_bounces_suppress(lead=lead):
        lead_suppress(lead=lead, reason=Lead.Suppression.SOFT_BOUNCE,
                      note=f"{settings.DRIP_SOFT_BOUNCE_LIMIT} soft bounces in a row within "
                           f"{settings.DRIP_SOFT_BOUNCE_WINDOW_DAYS} days, reported by {by}")
    elif event.event_type in SUPPRESSING_EVENTS:
        reason = SUPPRESSING_EVENTS[event.event_type]
        lead_suppress(lead=lead, reason=reason, note=f"reported by {by}")
        if reason == Lead.Suppression.COMPLAINT:
            confirmations_skip_for_mailbox(lead=lead)


def _announce(lead: Lead, stored: EmailEvent) -> None:
    """Tell integrations (outgoing webhooks) once per stored event: a retried ESP webhook never gets here."""
    if stored.bounce in (HARD, SOFT):
        signals.email_bounced.send(sender=EmailEvent, lead=lead, event=stored)
    elif stored.event_type == EventType.COMPLAINED:
        signals.email_complained.send(sender=EmailEvent, lead=lead, event=stored)


def _reconcile(row: ScheduledEmail, events: list[EmailEvent]) -> bool:
    """Settle an `unknown` row from its events: any sign of acceptance makes it sent; only refusals, failed."""
    events = [e for e in events if e.event_type != RESENT]
    accepted = [e for e in events if e.event_type not in NOT_ACCEPTED_EVENTS]
    if accepted:
        first = min(accepted, key=lambda e: e.occurred_at)
        row.status = ScheduledEmail.Status.SENT
        row.sent_at = row.handed_at or first.occurred_at
        row.esp_message_id = row.esp_message_id or first.esp_message_id
        row.last_error = ""
    elif events:
        refusal = events[0]
        row.status = ScheduledEmail.Status.FAILED
        row.last_error = f"ESP {refusal.event_type}: {refusal.description}"[:2000]
    else:
        return False
    row.updated_at = timezone.now()
    row.save(update_fields=["status", "sent_at", "esp_message_id", "last_error", "updated_at"])
    if row.status == ScheduledEmail.Status.SENT and row.stream == ScheduledEmail.Stream.MARKETING:
        since_click_raise(lead_id=row.lead_id)
    logger.info("reconciled unknown row=%s as %s from %d stored event(s)", row.pk, row.status, len(events))
    return True


@transaction.atomic
def unknown_rows_reconcile(*, row_ids: Iterable[int]) -> int:
    """Reconcile rows that just became `unknown` from the events stored while they were `sending`.
    Returns how many were settled (the others stay `unknown` until an event arrives, or for review)."""
    rows = list(ScheduledEmail.objects.select_for_update().filter(pk__in=list(row_ids),
                                                                  status=ScheduledEmail.Status.UNKNOWN))
    if not rows:
        return 0
    events: dict[int, list[EmailEvent]] = {row.pk: [] for row in rows}
    for event in EmailEvent.objects.filter(scheduled_email__in=rows).order_by("occurred_at", "pk"):
        events[event.scheduled_email_id].append(event)  # type: ignore[index]
    return sum(_reconcile(row, events[row.pk]) for row in rows)


def rows_with_acceptance_evidence(row_ids: Iterable[int]) -> set[int]:
    """Rows the ESP may have: a message id it gave us, or any stored event that is not a refusal."""
    ids = list(row_ids)
    with_id = ScheduledEmail.objects.filter(pk__in=ids).exclude(esp_message_id="").values_list("pk", flat=True)
    with_event = (EmailEvent.objects.filter(scheduled_email__in=ids).exclude(event_type__in=NOT_EVIDENCE)
                  .values_list("scheduled_email_id", flat=True))
    return {*with_id, *(pk for pk in with_event if pk is not None)}


@receiver(tracking, dispatch_uid="emails.tracking.on_tracking")
def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str = "", **_: Any) -> None:
    stored = email_event_record(event=event, esp_name=esp_name)
    if stored is not None and _moves_the_brake(stored):
        brake_evaluate()  # after the event's commit, so the window counts it


def _moves_the_brake(event: EmailEvent) -> bool:
    """A complaint or hard bounce of a marketing email: what the sending brake judges (emails/deliverability)."""
    row = event.scheduled_email
    return (row is not None and row.stream == ScheduledEmail.Stream.MARKETING
            and (event.event_type == EventType.COMPLAINED or event.bounce == HARD))

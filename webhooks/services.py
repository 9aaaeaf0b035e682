"""Every write of the webhooks app but the sender's: endpoints, their secrets, recording events, "send again"."""

import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from emails.broker import task_publish_on_commit
from leads.models import Lead
from webhooks.models import Delivery, Endpoint
from webhooks.signing import secret_new
from webhooks.tasks import delivery_send


@transaction.atomic
def endpoint_secret_roll(*, endpoint_id: int) -> str:
    """A new signing secret, used from the next attempt on (the old one stops working at once). Returns it."""
    secret = secret_new()
    Endpoint.objects.filter(pk=endpoint_id).update(secret=secret)
    return secret


@transaction.atomic
def endpoint_enable(*, endpoint_id: int) -> None:
    """Staff turned a (disabled) endpoint back on: its failures so far no longer count towards disabling it."""
    Endpoint.objects.filter(pk=endpoint_id).update(is_active=True, failing_since=None, disabled_at=None)


def _body(*, event_id: str, event_type: str, data: Mapping[str, Any]) -> str:
    created = int(timezone.now().timestamp())
    return json.dumps({"id": event_id, "type": event_type, "created": created, "data": data},
                      separators=(",", ":"), default=str)


@transaction.atomic
def deliveries_record(*, event_type: str, data: Mapping[str, Any], lead: Lead | None = None) -> list[Delivery]:
    """One delivery row per active endpoint that takes this event, in the caller's transaction (so the event and
    the change it reports commit together), each handed to a worker once that transaction commits. If the broker
    is down the rows wait for beat's sweep (webhooks.sender.deliveries_send_due)."""
    endpoints = [e for e in Endpoint.objects.filter(is_active=True).only("pk", "events") if event_type in e.events]
    if not endpoints:
        return []
    event_id = f"evt_{uuid.uuid4().hex}"
    body = _body(event_id=event_id, event_type=event_type, data=data)
    deliveries = Delivery.objects.bulk_create([
        Delivery(endpoint=endpoint, event_id=event_id, event_type=event_type, body=body, lead=lead)
        for endpoint in endpoints
    ])
    for delivery in deliveries:
        task_publish_on_commit(delivery_send, str(delivery.pk))
    return deliveries


@transaction.atomic
def delivery_send_again(*, delivery_id: Any, by: str) -> bool:
    """Staff asked for one more try now, whatever the delivery's state (same event id and body: receivers
    de-duplicate on the id). False when the endpoint is disabled (enable it first)."""
    delivery = Delivery.objects.select_for_update().select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or not delivery.endpoint.is_active:
        return False
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.lease_until = None
    delivery.resend_requested_by = by[:150]
    delivery.save(update_fields=["status", "next_attempt_at", "lease_until", "resend_requested_by"])
    task_publish_on_commit(delivery_send, str(delivery.pk))
    return True

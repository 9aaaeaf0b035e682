"""Sending deliveries: one attempt at a time, each logged; retries with exponential backoff for
WEBHOOKS_RETRY_FOR_SECONDS (3 days), then the delivery is given up; an endpoint that has failed for as long is
disabled and staff are emailed.

A delivery is claimed with a lease (a conditional UPDATE, so two workers, or the task and beat's sweep, never send
it at once), sent with no transaction open, and its outcome recorded in one short transaction. The next try is a
time on the row, not an ETA task: beat's sweep sends what is due.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from emails.backoff import exponential_backoff_seconds
from emails.staff_alert import staff_alert_send
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.signing import SIGNATURE_HEADER, signature_header
from webhooks.transport import Answer, webhook_post

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than one request can take (WEBHOOKS_TIMEOUT_SECONDS plus connecting)
SWEEP_BATCH = 100


def _due(now: Any) -> Q:
    return (Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True)
            & (Q(lease_until__isnull=True) | Q(lease_until__lt=now)))


def _claim(delivery_id: Any) -> Delivery | None:
    now = timezone.now()
    # One conditional UPDATE: of two workers (or the task and the sweep) only one changes the row.
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    if not Delivery.objects.filter(_due(now), pk=delivery_id).update(lease_until=lease_until):
        return None
    return Delivery.objects.select_related("endpoint").get(pk=delivery_id)


def delivery_send(*, delivery_id: Any) -> bool | None:
    """Try one delivery if it is due and nobody else is sending it. True delivered, False failed, None not tried."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    body = delivery.body.encode()
    headers = {SIGNATURE_HEADER: signature_header(body, secret=delivery.endpoint.secret),
               "Funnel-Event-Id": delivery.event_id, "Funnel-Delivery-Id": str(delivery.pk)}
    started = timezone.now()
    answer = webhook_post(url=delivery.endpoint.url, body=body, headers=headers)
    _outcome_record(delivery, answer, started=started)
    return answer.succeeded


def deliveries_send_due(*, limit: int = SWEEP_BATCH) -> int:
    """Send what is due: retries whose time has come, and deliveries no task took (broker down, worker killed).
    Beat runs this; returns how many were tried."""
    ids = list(Delivery.objects.filter(_due(timezone.now())).order_by("next_attempt_at")
               .values_list("pk", flat=True)[:limit])
    return sum(delivery_send(delivery_id=pk) is not None for pk in ids)


def _next_attempt_at(delivery: Delivery, *, attempts: int, now: Any) -> Any:
    wait = exponential_backoff_seconds(attempts=attempts, first_seconds=settings.WEBHOOKS_RETRY_FIRST_SECONDS,
                                       most_seconds=settings.WEBHOOKS_RETRY_MOST_SECONDS)
    # The last try is at the end of the window exactly, not up to one backoff after it.
    give_up_at = delivery.created_at + timedelta(seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS)
    return min(now + timedelta(seconds=wait), max(give_up_at, now))


@transaction.atomic
def _outcome_record(delivery: Delivery, answer: Answer, *, started: Any) -> None:
    now = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery, started_at=started, duration_ms=answer.duration_ms, status_code=answer.status,
        succeeded=answer.succeeded, error=answer.error[:500], response_excerpt=answer.excerpt[:500],
        manual=bool(delivery.resend_requested_by))
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {"attempts": F("attempts") + 1, "lease_until": None, "resend_requested_by": ""}
    if answer.succeeded:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.DELIVERED, delivered_at=now, **fields)
        Endpoint.objects.filter(pk=delivery.endpoint_id).update(failing_since=None)
        return
    if now - delivery.created_at >= timedelta(seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS):
        fields["status"] = Delivery.Status.FAILED
    else:
        fields["next_attempt_at"] = _next_attempt_at(delivery, attempts=attempts, now=now)
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    logger.info("webhook delivery %s to endpoint %s failed (attempt %d): %s %s", delivery.pk,
                delivery.endpoint_id, attempts, answer.status, answer.error)
    Endpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=True).update(failing_since=started)
    _endpoint_disable_if_failing(delivery.endpoint_id, now=now)


def _endpoint_disable_if_failing(endpoint_id: int, *, now: Any) -> None:
    since = now - timedelta(seconds=settings.WEBHOOKS_RETRY_FOR_SECONDS)
    disabled = Endpoint.objects.filter(pk=endpoint_id, is_active=True, failing_since__lte=since).update(
        is_active=False, disabled_at=now)
    if disabled:
        endpoint = Endpoint.objects.get(pk=endpoint_id)
        logger.error("webhook endpoint %s disabled: failing since %s", endpoint_id, endpoint.failing_since)
        transaction.on_commit(lambda: _staff_alert_disabled(endpoint))


def _staff_alert_disabled(endpoint: Endpoint) -> None:
    """Best effort: the endpoint is disabled either way, and the admin's list shows it."""
    failing_since = endpoint.failing_since.isoformat(timespec="minutes") if endpoint.failing_since else "?"
    staff_alert_send(
        subject=f"Webhook endpoint disabled: {endpoint.url[:80]}",
        body=(f"Every delivery to {endpoint.url} has failed since {failing_since} (UTC), so it was disabled "
              "and gets no more events.\n\nThe delivery log in the admin (Outgoing webhooks → Endpoints) "
              "shows each attempt's answer. Once the receiver works again, tick \"Is active\" on the "
              "endpoint and use \"Send again\" for the deliveries it missed."),
        about=f"webhook endpoint {endpoint.pk} disabled")

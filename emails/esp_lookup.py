"""Exactly once without staff: a row left `unknown` (lease lost, read timeout, worker killed after the hand-off) is
settled by asking the ESP whether it has the message.

Postmark: its Outbound Messages search (GET /messages/outbound?count=1&offset=0&recipient=…&metadata_row_id=…),
through anymail's Postmark backend (its session and server token). Found → `sent` with Postmark's MessageID. Not
found → asked again at the next run while the ESP may still be indexing it; once ESP_LOOKUP_AFTER_SECONDS have
passed since the hand-off and it is still not found, the ESP never took it: the row is sent again, once, and the
resend is recorded in its timeline (an EmailEvent `resent`). A row that was resent and ends `unknown` again stays
for staff. Beat runs this every ESP_LOOKUP_EVERY_SECONDS.

Any other ESP: no such search here, so today's behaviour stays (the ESP's webhook events reconcile the row,
otherwise staff decides; README, "Exactly once").
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from anymail.backends.postmark import EmailBackend as PostmarkBackend
from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from emails.engagement import since_click_raise
from emails.models import EmailEvent, ScheduledEmail
from emails.tracking import RESENT

logger = logging.getLogger(__name__)

Status = ScheduledEmail.Status
ROWS_PER_RUN = 200


def lookup_supported(backend: Any) -> bool:
    return isinstance(backend, PostmarkBackend)


def postmark_find(backend: PostmarkBackend, row: ScheduledEmail) -> dict[str, Any] | None:
    """The message Postmark has for this row (its Outbound Messages search by our metadata), or None."""
    response = backend.session.get(  # type: ignore[union-attr]
        urljoin(backend.api_url, "messages/outbound"),
        params={"count": 1, "offset": 0, "recipient": row.lead.email, "metadata_row_id": str(row.pk)},
        headers={"Accept": "application/json", "X-Postmark-Server-Token": backend.server_token},
        timeout=backend.timeout)
    response.raise_for_status()
    found = response.json()
    messages = found.get("Messages") or []
    mine = [m for m in messages if str((m.get("Metadata") or {}).get("row_id", "")) == str(row.pk)]
    return mine[0] if mine else None


def unknown_rows_settle(*, now: datetime | None = None) -> dict[str, int]:
    """Ask the ESP about every `unknown` row we can: found → sent; not found after the indexing delay → resent
    once. Returns counts."""
    counts = {"found": 0, "resent": 0, "waiting": 0, "left": 0}
    backend = get_connection()
    if not lookup_supported(backend):
        return counts
    now = now or timezone.now()
    rows = list(ScheduledEmail.objects.filter(status=Status.UNKNOWN).select_related("lead")
                .order_by("handed_at", "pk")[:ROWS_PER_RUN])
    if not rows:
        return counts
    resent_before = set(EmailEvent.objects.filter(scheduled_email__in=rows, event_type=RESENT)
                        .values_list("scheduled_email_id", flat=True))
    backend.open()
    try:
        for row in rows:
            if not row.lead.email:
                counts["left"] += 1  # erased since: nothing to ask about, nothing to send
                continue
            try:
                found = postmark_find(backend, row)
            except Exception:  # noqa: BLE001 - the ESP is unreachable: ask again at the next run
                logger.warning("ESP lookup failed row=%s", row.pk, exc_info=True)
                break
            counts[_settle(row, found, now=now, resent_before=row.pk in resent_before)] += 1
    finally:
        backend.close()
    if any(counts.values()):
        logger.info("settled unknown rows by asking the ESP %s", counts)
    return counts


@transaction.atomic
def _settle(row: ScheduledEmail, found: dict[str, Any] | None, *, now: datetime, resent_before: bool) -> str:
    # Only while it is still unknown: a webhook or staff may have settled it meanwhile.
    still = ScheduledEmail.objects.select_for_update().filter(pk=row.pk, status=Status.UNKNOWN)
    if found is not None:
        received = parse_datetime(str(found.get("ReceivedAt", ""))) if found.get("ReceivedAt") else None
        settled = still.update(status=Status.SENT, esp_message_id=str(found.get("MessageID", ""))[:255],
                               sent_at=row.handed_at or received or now, last_error="", updated_at=now)
        if settled and row.stream == ScheduledEmail.Stream.MARKETING:
            since_click_raise(lead_id=row.lead_id)
        return "found" if settled else "left"
    handed = row.handed_at or row.updated_at
    if now - handed < timedelta(seconds=settings.ESP_LOOKUP_AFTER_SECONDS):
        return "waiting"  # the ESP may still be indexing it
    if resent_before:
        return "left"  # resent once already: staff decides now
    settled = still.update(status=Status.SCHEDULED, send_at=now, claimed_by="", handed_at=None, lease_until=None,
                           last_error=f"resent: the ESP had no record of it {settings.ESP_LOOKUP_AFTER_SECONDS} s "
                                      "after the hand-off", updated_at=now)
    if not settled:
        return "left"
    try:
        with transaction.atomic():
            EmailEvent.objects.create(event_id=f"{RESENT}:{row.pk}", event_type=RESENT, scheduled_email=row,
                                      lead_id=row.lead_id, occurred_at=now, received_at=now,
                                      description="not found at the ESP after the indexing delay: sent again")
    except IntegrityError:
        pass
    logger.warning("resending row=%s: the ESP has no record of it", row.pk)
    return "resent"

"""Hard or soft: what a bounce means by the ESP's own semantics, and when soft bounces add up to a suppression.

anymail normalises every ESP's bounce to `bounced` and does not keep the kind: Postmark's `SoftBounce` (a full
mailbox) arrives exactly like its `HardBounce` (no such user), with reject_reason `bounced`. So the ESP's raw event
decides where it says more; otherwise anymail's own reject_reason does (see anymail's tracking docs: `bounced` and
`invalid` are the recipient's address, `timed_out`, `blocked`, `spam`, `other` are not).

A hard bounce suppresses every email. Soft bounces count: DRIP_SOFT_BOUNCE_LIMIT of them in a row (no delivery in
between), for different messages, within DRIP_SOFT_BOUNCE_WINDOW_DAYS, suppress marketing mail only.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from django.conf import settings
from django.db.models import Max

from emails.models import EmailEvent
from leads.models import Lead, SuppressionChange

HARD, SOFT, NOT_A_BOUNCE = EmailEvent.Bounce.HARD, EmailEvent.Bounce.SOFT, EmailEvent.Bounce.NONE

# Postmark's bounce `Type`s that are about the mailbox or its server for now, not the address for good. anymail
# maps Transient and DnsError to `deferred`, but Postmark reports them as bounces of that message.
POSTMARK_SOFT_TYPES = {"SoftBounce", "Transient", "DnsError"}
# SparkPost bounce classes that mean the address itself is bad; every other class is about this attempt.
SPARKPOST_HARD_CLASSES = {"10", "30"}
# anymail reject reasons that are about the address (the recipient does not exist, or is malformed).
ADDRESS_REASONS = {RejectReason.BOUNCED, RejectReason.INVALID, None}


def _postmark(raw: Mapping[str, Any]) -> str | None:
    if raw.get("RecordType") != "Bounce":
        return None
    kind = raw.get("Type")
    if kind == "HardBounce":
        return HARD
    return SOFT if kind in POSTMARK_SOFT_TYPES else None


def _amazon_ses(raw: Mapping[str, Any]) -> str | None:
    bounce_type = (raw.get("bounce") or {}).get("bounceType")
    if bounce_type is None:
        return None
    return HARD if bounce_type == "Permanent" else SOFT  # Transient, Undetermined


def _named_event(raw: Mapping[str, Any]) -> str | None:
    # Mandrill and Brevo name the kind in `event`; MailerSend in data.type.
    name = str(raw.get("event") or (raw.get("data") or {}).get("type") or "")
    if name.startswith("hard_bounce"):
        return HARD
    if name.startswith("soft_bounce"):
        return SOFT
    return None


def _sparkpost(raw: Mapping[str, Any]) -> str | None:
    for wrapper in (raw.get("msys") or {}).values():
        if isinstance(wrapper, Mapping) and "bounce_class" in wrapper:
            return HARD if str(wrapper["bounce_class"]) in SPARKPOST_HARD_CLASSES else SOFT
    return None


RAW_READERS = {"Postmark": _postmark, "Amazon SES": _amazon_ses, "Mandrill": _named_event, "Brevo": _named_event,
               "MailerSend": _named_event, "SparkPost": _sparkpost}


def bounce_kind(event: AnymailTrackingEvent, esp_name: str = "") -> str:
    """HARD, SOFT or NOT_A_BOUNCE for one tracking event."""
    raw = event.esp_event
    reader = RAW_READERS.get(esp_name)
    if reader is not None and isinstance(raw, Mapping):
        kind = reader(raw)
        if kind is not None:
            return kind
    if event.event_type == EventType.BOUNCED:
        return HARD if event.reject_reason in ADDRESS_REASONS else SOFT
    if event.event_type == EventType.REJECTED and event.reject_reason in (RejectReason.BOUNCED,
                                                                           RejectReason.INVALID):
        # The ESP refused to send because the address bounced before (its suppression list): as final.
        return HARD
    return NOT_A_BOUNCE


def soft_bounces_suppress(*, lead: Lead) -> bool:
    """True when the lead's latest soft bounces, with no delivery after them and since any lift of a suppression,
    reach the limit within the window. Order-independent: ESP events arrive late and out of order, so this reads
    the stored events by when they happened, not by when they came."""
    limit = settings.DRIP_SOFT_BOUNCE_LIMIT
    window = timedelta(days=settings.DRIP_SOFT_BOUNCE_WINDOW_DAYS)
    last_delivery = EmailEvent.objects.filter(lead=lead, event_type=EventType.DELIVERED).aggregate(
        at=Max("occurred_at"))["at"]
    last_lift = SuppressionChange.objects.filter(lead=lead, action=SuppressionChange.Action.LIFTED).aggregate(
        at=Max("created_at"))["at"]
    since = max((at for at in (last_delivery, last_lift) if at is not None), default=None)
    bounces = EmailEvent.objects.filter(lead=lead, bounce=SOFT)
    if since is not None:
        bounces = bounces.filter(occurred_at__gt=since)
    first_per_message: dict[str, datetime] = {}
    for at, message, row, event_id in bounces.order_by("occurred_at").values_list(
            "occurred_at", "esp_message_id", "scheduled_email_id", "event_id"):
        # One message may bounce more than once (the ESP retries): it is one bounce of the reader's mailbox.
        first_per_message.setdefault(str(row or message or event_id), at)
    times = sorted(first_per_message.values())
    return len(times) >= limit and times[-1] - times[-limit] <= window


"""The mail part of a person's data download and erasure, registered with `leads.privacy` from EmailsConfig.ready().

Erasure keeps the rows (which step was sent when, opened, clicked): the per-email funnel figures are counts of
them, and the lead they point to is anonymous by then. What goes is whatever can name the person: bounce and
error texts (an ESP's bounce message quotes the address and often the name), and any copy of them in ids or
context.

Also the email that carries a single-use download or erasure link (leads/privacy_link.py): the preferences pages
in `leads` ask for it through `leads.privacy.privacy_link_send`, and the link is made here when it is sent.
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from emails.context import register_context_provider
from emails.models import Click, EmailEvent, ScheduledEmail
from emails.services import email_queue
from leads.models import Lead
from leads.privacy import (
    ERASED,
    ErasedPerson,
    export_rows,
    register_eraser,
    register_exporter,
    register_privacy_link_sender,
)
from leads.privacy_link import ACTIONS, EXPORT, PRIVACY_LINK_MAX_AGE, privacy_token_make

PRIVACY_LINK_STEP = "privacy-link"
# A forwarded preferences link must not become a way to flood the reader's inbox: over this, silently no mail.
PRIVACY_LINKS_PER_HOUR = 3


def export_emails(lead: Lead) -> list[dict[str, Any]]:
    rows = ScheduledEmail.objects.filter(lead=lead).order_by("send_at", "pk")
    return export_rows(rows, ["step", "stream", "status", "send_at", "sent_at", "skip_reason", "last_error"])


def export_email_events(lead: Lead) -> list[dict[str, Any]]:
    events = (EmailEvent.objects.filter(Q(lead=lead) | Q(scheduled_email__lead=lead))
              .select_related("scheduled_email").order_by("occurred_at", "pk"))
    return export_rows(events, ["event_type", "occurred_at", "description", "scheduled_email.step"])


def export_clicks(lead: Lead) -> list[dict[str, Any]]:
    clicks = Click.objects.filter(lead=lead).select_related("scheduled_email").order_by("created_at", "pk")
    return export_rows(clicks, ["target", "created_at", "scheduled_email.step"])


def erase_mail(person: ErasedPerson) -> None:
    lead = person.lead
    # Nothing more goes out to them (the dispatcher would skip these rows anyway; this makes it visible now).
    ScheduledEmail.objects.filter(lead=lead, status=ScheduledEmail.Status.SCHEDULED).update(
        status=ScheduledEmail.Status.SKIPPED, skip_reason="erased")
    # SMTP and ESP errors quote the recipient; context holds plain values that could.
    for row in ScheduledEmail.objects.filter(lead=lead).exclude(last_error="", context={}):
        row.last_error = ""
        row.context = person.scrub_json_values(row.context)
        row.save(update_fields=["last_error", "context", "updated_at"])

    # Their events, plus events we could not tie to a row that still quote the address (a bounce without
    # our metadata). An event id made up without the ESP's id ends with the recipient (emails.tracking).
    found = Q(lead=lead) | Q(scheduled_email__lead=lead)
    if person.email:
        found |= Q(description__icontains=person.email) | Q(event_id__icontains=person.email)
    for event in EmailEvent.objects.filter(found).select_related("scheduled_email"):
        ours = event.lead_id == lead.pk or (event.scheduled_email is not None
                                            and event.scheduled_email.lead_id == lead.pk)
        if not (ours or person.mentions(event.description) or person.mentions(event.event_id)):
            continue  # only a longer address contains theirs ("joann@…" for "ann@…"): someone else's event
        # Someone else's event that quotes them: their address and name go, the rest of the text stays.
        event.description = "" if ours else person.scrub_free_text(event.description)
        if person.mentions(event.event_id):
            event.event_id = f"{ERASED}:{event.pk}"  # still unique
        event.save(update_fields=["description", "event_id"])


register_exporter("emails", export_emails)
register_exporter("email_events", export_email_events)
register_exporter("clicks", export_clicks)
register_eraser(erase_mail)


def privacy_link_queue(lead: Lead, action: str) -> None:
    """Queue the email with a fresh single-use link for `action` (a new row each time: each request is answered,
    up to PRIVACY_LINKS_PER_HOUR)."""
    recent = ScheduledEmail.objects.filter(lead=lead, step=PRIVACY_LINK_STEP,
                                           created_at__gte=timezone.now() - timedelta(hours=1))
    if recent.count() >= PRIVACY_LINKS_PER_HOUR:
        return
    email_queue(lead=lead, step=PRIVACY_LINK_STEP, stream=ScheduledEmail.Stream.TRANSACTIONAL, key=uuid.uuid4().hex,
                context={"action": action})


def privacy_link_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    """The link itself is made at send time, like every token (never stored in the row)."""
    action = (row.context or {}).get("action")
    action = action if action in ACTIONS else EXPORT
    return {
        "privacy_action": action,
        "privacy_url": settings.SITE_URL + reverse(f"privacy-{action}", args=[privacy_token_make(lead, action)]),
        "privacy_link_minutes": int(PRIVACY_LINK_MAX_AGE.total_seconds()) // 60,
    }


register_privacy_link_sender(privacy_link_queue)
register_context_provider(privacy_link_context, steps=[PRIVACY_LINK_STEP])

"""The mail part of a person's data download and erasure, registered with `leads.privacy` from EmailsConfig.ready().

Erasure keeps the rows (which step was sent when, opened, clicked): the per-email funnel figures are counts of
them, and the lead they point to is anonymous by then. What goes is whatever can name the person: bounce and
error texts (an ESP's bounce message quotes the address), and any copy of the address in ids or context.
"""

from typing import Any

from django.db.models import Q

from emails.models import Click, EmailEvent, ScheduledEmail
from leads.models import Lead
from leads.privacy import ERASED, ErasedPerson, export_rows, register_eraser, register_exporter


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
        row.context = person.scrub_json(row.context)
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
        event.description = "" if ours else person.scrub(event.description)
        if person.mentions(event.event_id):
            event.event_id = f"{ERASED}:{event.pk}"  # still unique
        event.save(update_fields=["description", "event_id"])


register_exporter("emails", export_emails)
register_exporter("email_events", export_email_events)
register_exporter("clicks", export_clicks)
register_eraser(erase_mail)

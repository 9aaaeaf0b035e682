"""Reads about a lead's mail: the schedule with what happened to each row."""

from django.db.models import Prefetch, QuerySet

from emails.models import EmailEvent, ScheduledEmail
from leads.models import Lead
from leads.validation import normalised_email


def lead_schedule(*, lead: Lead) -> QuerySet[ScheduledEmail]:
    """Every row of `lead`, in send order, with its events and clicks loaded."""
    return (ScheduledEmail.objects.filter(lead=lead).order_by("send_at", "pk")
            .prefetch_related(Prefetch("events", queryset=EmailEvent.objects.order_by("occurred_at")), "clicks"))


def lead_by_email(email: str) -> Lead | None:
    return Lead.objects.filter(email=normalised_email(email)).first()

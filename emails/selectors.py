"""Reads about a lead's mail (the schedule with what happened to each row), and about sending right now."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from emails import esp_throttle
from emails.models import EmailEvent, ScheduledEmail
from leads.models import Lead
from leads.validation import normalised_email


def lead_schedule(*, lead: Lead) -> QuerySet[ScheduledEmail]:
    """Every row of `lead`, in send order, with its events and clicks loaded."""
    return (ScheduledEmail.objects.filter(lead=lead).order_by("send_at", "pk")
            .prefetch_related(Prefetch("events", queryset=EmailEvent.objects.order_by("occurred_at")), "clicks"))


def lead_by_email(email: str) -> Lead | None:
    return Lead.objects.filter(email=normalised_email(email)).first()


@dataclass(frozen=True)
class SendingNow:
    marketing_per_second: float  # sequence emails sent per second over the last minute
    limit_per_second: int | None  # ESP_MAX_MESSAGES_PER_SECOND
    throttled_seconds_today: float  # every worker together, waiting for the rate limit or a 429's pause


def sending_now(*, now: datetime | None = None) -> SendingNow:
    """For the dashboard: one count on the partial index of sent sequence emails, and one cache read."""
    now = now or timezone.now()
    sent = ScheduledEmail.objects.filter(stream=ScheduledEmail.Stream.MARKETING,
                                         sent_at__gte=now - timedelta(minutes=1)).count()
    return SendingNow(marketing_per_second=sent / 60, limit_per_second=settings.ESP_MAX_MESSAGES_PER_SECOND,
                      throttled_seconds_today=esp_throttle.throttled_seconds_on(now.date()))

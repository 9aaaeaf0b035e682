"""Endpoints staff set up, and the outbox of deliveries to them (rows, sent by a task after commit and by beat).

A delivery is one event for one endpoint. Its body is stored as the exact bytes sent, so every retry (and "send
again") carries the same event id and payload; only the signature's timestamp is new on each attempt.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Lead

EVENT_TYPES = (
    ("lead.confirmed", "A reader confirmed their address (double opt-in)"),
    ("lead.unsubscribed", "A reader unsubscribed"),
    ("lead.tagged", "A lead was given a tag"),
    ("purchase.paid", "A purchase was paid (access granted)"),
    ("purchase.refunded", "A paid purchase was refunded"),
    ("email.bounced", "An email bounced (hard or soft)"),
    ("email.complained", "A reader marked an email as spam"),
)


class Endpoint(models.Model):
    url = models.URLField(max_length=2000, help_text="Where events are POSTed, e.g. https://hooks.example.com/funnel")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types this endpoint receives.")
    # The signing secret: kept so that we can sign, shown to staff once (on creation and when rolled), never again.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True, help_text="Untick to stop sending; tick to resume.")
    # The first failure since the last success: an endpoint failing for WEBHOOKS_DISABLE_AFTER_SECONDS is disabled.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64, db_index=True)  # the same for every endpoint the event goes to
    event_type = models.CharField(max_length=32, choices=EVENT_TYPES)
    body = models.TextField()
    # Whose data the body holds, so an erasure finds it (leads/privacy.py).
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A sender holds the row until then; a worker killed mid-request leaves it to the sweep after that.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Staff pressed "send again": the next attempt is theirs (recorded as manual in the log).
    resend_requested_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no HTTP answer
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(default=False)  # staff pressed "send again"

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of {self.delivery_id}"

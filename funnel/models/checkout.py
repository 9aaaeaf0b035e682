"""Money: the checkout sessions we started, the purchases they became, and every Stripe event we received."""

from django.db import models
from django.utils import timezone

from emails.models import ScheduledEmail
from leads.models import Lead


class CheckoutSession(models.Model):
    """A Stripe Checkout Session we created (or the simulator created), and the email that led to it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Completed"
        EXPIRED = "expired", "Expired"
        ASYNC_FAILED = "async_failed", "Delayed payment failed"

    stripe_session_id = models.CharField(max_length=255, unique=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkouts")
    scheduled_email = models.ForeignKey(
        ScheduledEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="checkouts"
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.stripe_session_id


class Purchase(models.Model):
    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        REVIEW = "review", "Held for review"  # amount, currency or mode did not match our price

    stripe_session_id = models.CharField(max_length=255, unique=True)
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="purchases")
    # The email whose link sold it: exact credit, from the signed link carried in the session's metadata.
    scheduled_email = models.ForeignKey(
        ScheduledEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchases"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PAID, db_index=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    livemode = models.BooleanField(default=False)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    review_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Purchase {self.stripe_session_id} ({self.status})"


class StripeEvent(models.Model):
    """The raw event as Stripe sent it, stored once (event id unique) before we act on it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (type we do not handle)"
        FAILED = "failed", "Failed (see error; reprocess from the admin)"

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

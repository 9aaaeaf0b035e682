"""Money: the checkout sessions we started, the purchases they became, and every Stripe event we received."""

from django.conf import settings
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
    # True when the lead was named by a signed email link, i.e. whoever started it can read that inbox. Only
    # then may the success page sign this browser in; a typed address on /buy/ proves nothing.
    lead_verified = models.BooleanField(default=False)
    # The simulator's stand-in for Stripe's copy of the session (DEBUG without STRIPE_SECRET_KEY only).
    simulated_object = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.stripe_session_id


class Purchase(models.Model):
    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"
        REVIEW = "review", "Held for review"  # amount, currency or mode did not match our price
        # A second payment by someone who already owns the guide (two tabs): refunded automatically, never a sale.
        DUPLICATE = "duplicate", "Second payment, refunded"

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
    # Our own refund through Stripe (a duplicate payment, or staff refunding a held purchase).
    refund_id = models.CharField(max_length=255, blank=True)
    # The Idempotency-Key of that refund's current attempt: kept across a timeout, cleared after an answer (see
    # funnel/checkout/reversals.py stripe_refund).
    refund_idempotency_key = models.CharField(max_length=255, blank=True)
    # Staff's decision on a held purchase: who, when, and what (granted or refunded).
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"Purchase {self.stripe_session_id} ({self.status})"


class PaymentReversal(models.Model):
    """A refund or dispute, recorded by payment intent even when no purchase exists yet.

    Stripe does not promise delivery order: if `charge.refunded` arrives before `checkout.session.completed`,
    fulfilment finds this row and grants nothing.
    """

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        DISPUTE = "dispute", "Dispute"

    payment_intent_id = models.CharField(max_length=255, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    stripe_object_id = models.CharField(max_length=255, help_text="The charge (refund) or dispute id")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "stripe_object_id"], name="one_reversal_per_stripe_object")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.payment_intent_id}"


class SignInLinkUse(models.Model):
    """When a buyer last signed in through an emailed link: the state their magic links are bound to.

    Not `Lead.last_sign_in_at`: the success page also signs in, often seconds after the access email was
    rendered, and must not kill the link in that email. Using any link moves this, so every earlier link dies.
    """

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="sign_in_link_use")
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lead #{self.lead_id} last used a sign-in link at {self.used_at:%Y-%m-%d %H:%M}"


class StripeEvent(models.Model):
    """The raw event as Stripe sent it, stored once (event id unique) before we act on it.

    The webhook only stores it; a Celery task (or the beat sweep, when the broker was down or a worker died)
    claims it by moving it to `processing`, calls Stripe outside any transaction, then records the outcome.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing (claimed by a worker)"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (type we do not handle)"
        FAILED = "failed", "Failed (see error; retried automatically, or reprocess from the admin)"

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
    # When the sweep may take the event up again: the end of a worker's claim while `processing` (a worker that
    # died leaves it behind), the backoff after a failure while `failed`.
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweep's lookup; only unfinished events are in it, so it stays small as the table grows.
            models.Index(fields=["status", "received_at"], name="stripe_event_unfinished_idx",
                         condition=models.Q(status__in=["received", "processing", "failed"])),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"

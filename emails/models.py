"""Mail as rows: every message we intend to send is a row first (the outbox), then a dispatcher sends it.

The seven reminders and the welcome are `marketing` rows, one per (lead, step). Transactional messages
(confirmation, sign-in link, receipt) are `transactional` rows with a `key` so the same kind can be sent
more than once to one lead (e.g. two sign-in links) while a retry of the same request is still deduplicated.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead

SEQUENCE_STEPS = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]
REMINDER_STEPS = SEQUENCE_STEPS[1:]  # the seven daily reminders that follow the welcome
# After the week, for readers who finished day 7 without buying (emails/follow_up.py).
FOLLOW_UP_STEPS = ["follow-up-1", "follow-up-2", "follow-up-3"]
# A one-off email to a segment is the step `broadcast-<id>` (emails/broadcasts/).
BROADCAST_STEP_PREFIX = "broadcast-"
# The sunset's "do you still want these?" (emails/sunset.py): one copy, `sunset`, sent as the step `sunset-<cycle>`
# (one row per reader per cycle under the one-row-per-(lead, step) rule of marketing mail).
SUNSET_STEP = "sunset"


def copy_step(step: str) -> str:
    """The copy a row's step is rendered from: its own, except a sunset cycle's, which share `sunset`."""
    return SUNSET_STEP if step.startswith(f"{SUNSET_STEP}-") else step

# `claimed_by` of a marketing row over the day's warm-up cap, waiting for its reader's next morning
# (emails/deliverability/warmup.py); a dispatcher's claim replaces it like any other.
WARMUP_WAITING = "warm-up"


def is_marketing_step(step: str) -> bool:
    """Mail we send on our own initiative (marketing stream), as opposed to replies to what a reader did."""
    return (step in SEQUENCE_STEPS or step in FOLLOW_UP_STEPS or step.startswith(BROADCAST_STEP_PREFIX)
            or step == "order-waiting" or copy_step(step) == SUNSET_STEP)


class ScheduledEmail(models.Model):
    class Stream(models.TextChoices):
        MARKETING = "marketing", "Marketing (sequence)"
        TRANSACTIONAL = "transactional", "Transactional"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Claimed, being sent"  # holds a lease until `lease_until`
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"  # the lead could not be mailed at send time; see skip_reason
        FAILED = "failed", "Failed"  # permanent ESP error; see last_error; the admin can retry it
        UNKNOWN = "unknown", "Unknown (lease expired mid-send)"  # reconciled from ESP events, never resent blindly

    # Every index is written again by each of a row's three updates (claim, hand-off, outcome): lead_id needs none
    # of its own (the unique (lead, step, key) index leads with it).
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="scheduled_emails", db_index=False)
    step = models.CharField(max_length=32)
    stream = models.CharField(max_length=16, choices=Stream.choices, default=Stream.MARKETING)
    key = models.CharField(max_length=64, blank=True, default="", help_text="Dedupe key for transactional mail")
    context = models.JSONField(default=dict, blank=True, help_text="Extra template context (ids only)")

    send_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)  # a dispatcher's claim token, or WARMUP_WAITING
    # Set just before the message goes to the backend: after a crash, a claimed row without it was never
    # handed over and may be sent again; one with it is `unknown` until the ESP's events say otherwise.
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)  # indexed in Meta (exact lookups only)
    skip_reason = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    # Which copy this row was rendered from, set when it is handed over: the version of the step's EmailCopy and,
    # while an experiment runs, the reader's arm (kept on retry, so a reader always sees one variant).
    copy_version = models.PositiveIntegerField(null=True, blank=True)
    variant = models.ForeignKey("emails.Variant", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="scheduled_emails", db_index=False)  # partial index in Meta
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "step"], condition=Q(stream="marketing"), name="one_sequence_email_per_lead_step"
            ),
            models.UniqueConstraint(fields=["lead", "step", "key"], name="one_email_per_lead_step_key"),
        ]
        indexes = [
            # The dispatcher's claim reads only due, unsent rows: a partial index keeps it small at any size.
            models.Index(fields=["send_at"], condition=Q(status="scheduled"), name="due_email_idx"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="leased_email_idx"),
            # The few rows waiting for a warm-up day's cap, counted for the dashboard.
            models.Index(fields=["send_at"], condition=Q(status="scheduled", claimed_by=WARMUP_WAITING),
                         name="warmup_waiting_email_idx"),
            # The dashboard reads the sequence emails sent in a period (per email figures) through this index.
            models.Index(fields=["sent_at", "step"], condition=Q(stream="marketing"), name="sent_marketing_email_idx"),
            # The deliverability rollup reads the transactional mail sent on a day (marketing: the index above).
            models.Index(fields=["sent_at"], condition=Q(stream="transactional"), name="sent_transactional_email_idx"),
            # ESP events find their row by message id: equality only, so no second (LIKE) index as db_index makes.
            models.Index(fields=["esp_message_id"], name="email_esp_message_idx"),
            # Segments ask "reached day N" (emails/segments/conditions.py): the leads whose day-N row was sent. Only
            # sent marketing rows are in it, each entered once, as it is marked sent (that update cannot be HOT anyway:
            # `status` is in the other indexes' predicates).
            models.Index(fields=["step", "lead"], condition=Q(status="sent", stream="marketing"),
                         name="sent_step_lead_idx"),
            # Only the rows of an experiment have an arm; the others stay out of this index.
            models.Index(fields=["variant"], condition=Q(variant__isnull=False), name="email_variant_idx"),
            # A broadcast's rows (its report, its cancel); the week's rows stay out. Queries repeat the condition
            # (broadcast_rows) so the planner can match this partial index.
            models.Index(fields=["step", "status"], condition=Q(step__startswith=BROADCAST_STEP_PREFIX),
                         name="broadcast_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step} for lead #{self.lead_id} ({self.status})"


class EmailEvent(models.Model):
    """An ESP tracking event (delivered, opened, clicked, bounced…), stored once per ESP event id."""

    class Bounce(models.TextChoices):
        NONE = "", "Not a bounce"
        HARD = "hard", "Hard bounce"  # the address is gone: nothing more is sent to it
        SOFT = "soft", "Soft bounce"  # a full mailbox, a DNS hiccup: counted, suppresses marketing only in a row

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=32, db_index=True)
    scheduled_email = models.ForeignKey(
        ScheduledEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_events")
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    description = models.CharField(max_length=500, blank=True)
    # What the ESP's own semantics make of a bounce (emails/bounces.py); anymail reports both kinds as `bounced`.
    bounce = models.CharField(max_length=4, choices=Bounce.choices, default="", blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["scheduled_email", "event_type"]),
            # The deliverability rollup counts a day's events by when they happened.
            models.Index(fields=["occurred_at"], name="email_event_occurred_idx"),
            # The sending brake probes each of its window's emails for a complaint or a hard bounce
            # (emails/deliverability/brake.py): only those events are in it, a small fraction of all.
            models.Index(fields=["scheduled_email"], condition=Q(event_type="complained") | Q(bounce="hard"),
                         name="email_event_brake_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Click(models.Model):
    """A click through our signed redirect: exact credit for the email (row) that was clicked."""

    class Target(models.TextChoices):
        UPGRADE = "upgrade", "Upgrade"
        FREE_GUIDE = "free_guide", "Free guide"
        FULL_GUIDE = "full_guide", "Full guide"
        APP = "app", "App"

    class Machine(models.TextChoices):
        HUMAN = "", "A person"
        HEAD = "head", "HEAD request"
        AGENT = "agent", "Scanner or bot user agent"
        EARLY = "early", "Seconds after delivery"
        BURST = "burst", "Every link of the email at once"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="clicks")
    scheduled_email = models.ForeignKey(
        ScheduledEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="clicks"
    )
    target = models.CharField(max_length=16, choices=Target.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Mailbox scanners open links too (emails/clicks.py): their clicks are kept, shown apart, never credited.
    machine = models.CharField(max_length=8, choices=Machine.choices, default="", db_default="", blank=True)

    class Meta:
        # Segments ask "a human click by this lead since …" (emails/segments/conditions.py) per lead.
        indexes = [models.Index(fields=["lead", "created_at"], condition=Q(machine=""), name="human_click_idx")]

    def __str__(self) -> str:
        who = f" (machine: {self.machine})" if self.machine else ""
        return f"{self.target} click by lead #{self.lead_id}{who}"


# Registered with this app from their own modules: the copy editor's, the experiments', the segments' and the
# broadcasts' tables.
from emails.broadcasts.models import Broadcast  # noqa: E402
from emails.content.models import EmailCopy, EmailDraft, SequenceSettings  # noqa: E402
from emails.deliverability.models import MailboxDomain, SendingBrake, WarmupDay  # noqa: E402
from emails.experiments.models import Experiment, Variant  # noqa: E402
from emails.segments.models import Segment  # noqa: E402

__all__ = ["BROADCAST_STEP_PREFIX", "FOLLOW_UP_STEPS", "SEQUENCE_STEPS", "SUNSET_STEP", "Broadcast", "Click",
           "EmailCopy", "EmailDraft", "EmailEvent", "Experiment", "MailboxDomain", "ScheduledEmail", "Segment",
           "SendingBrake", "SequenceSettings", "Variant", "WarmupDay", "copy_step", "is_marketing_step"]

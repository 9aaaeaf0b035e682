"""A broadcast: one email to the readers of a segment, at one moment or at each reader's local hour on a date.

Its copy is the copy editor's step `broadcast-<id>` (versions, drafts, previews, checks, test sends), and its
emails are ScheduledEmail rows of that step, one per reader (UNIQUE(lead, step)), sent by the same dispatcher
under the same rules as the week. The rows are the record: what was sent, skipped or cancelled is on them.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from emails.models import BROADCAST_STEP_PREFIX


class Broadcast(models.Model):
    class Timing(models.TextChoices):
        NOW = "now", "Now"
        AT = "at", "At a date and time (UTC)"
        LOCAL = "local", "At an hour on each reader's own clock, on a date"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"  # no rows yet: the copy is being written
        SCHEDULED = "scheduled", "Scheduled"  # rows created; sending from `starts_at`
        CANCELLED = "cancelled", "Cancelled"  # before it started: its rows were skipped, nothing went out

    name = models.CharField(max_length=100, help_text="For you; readers see the email's subject")
    # PROTECT: a broadcast's report names the segment it went to.
    segment = models.ForeignKey("emails.Segment", on_delete=models.PROTECT, related_name="broadcasts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    timing = models.CharField(max_length=8, choices=Timing.choices, blank=True)
    send_at = models.DateTimeField(null=True, blank=True, help_text="Now or At: the moment (UTC)")
    local_date = models.DateField(null=True, blank=True, help_text="Local hour: the date on each reader's clock")
    local_hour = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Local hour: 0-23")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="The first email's time: cancel until then")
    recipients = models.PositiveIntegerField(default=0, help_text="Rows created when it was scheduled")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Sending is its own right: view-only staff see every broadcast and press nothing, and staff who may
        # write drafts still cannot mail the list (README, "Broadcasts").
        permissions = [("send_broadcast", "Can send broadcasts")]

    def __str__(self) -> str:
        return self.name

    @property
    def step(self) -> str:
        """The copy editor's step and the rows' step."""
        return f"{BROADCAST_STEP_PREFIX}{self.pk}"

    def cancellable(self, now: datetime | None = None) -> bool:
        """A draft, or scheduled and not started yet."""
        if self.status == self.Status.DRAFT:
            return True
        now = now or timezone.now()
        return self.status == self.Status.SCHEDULED and self.starts_at is not None and self.starts_at > now

    def state(self, now: datetime | None = None) -> str:
        """What a marketer calls it: draft, scheduled, sending or sent (started), cancelled."""
        if self.status == self.Status.SCHEDULED and not self.cancellable(now):
            return "started"
        return str(self.status)

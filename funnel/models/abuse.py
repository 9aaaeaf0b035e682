from django.db import models


class SignupGuardDay(models.Model):
    """Per UTC day: signups refused as a bot's, and signups whose confirmation was held by the hourly caps. Counted
    as it happens (one UPSERT), so the dashboard reads a handful of rows, never the leads."""

    date = models.DateField(unique=True)
    refused = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.date}: {self.refused} refused, {self.held} held"


class ConfirmationWindow(models.Model):
    """Confirmation emails booked in one clock hour (UTC): per recipient domain, and in total under the domain
    "*". A booking is taken when the row is queued, for the hour it will be sent in (funnel/landing/abuse.py);
    rows of past hours are pruned by the signup housekeeping."""

    TOTAL = "*"

    hour = models.BigIntegerField(help_text="Hours since the Unix epoch, UTC")
    domain = models.CharField(max_length=255)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "domain"], name="one_confirmation_window_per_domain")]

    def __str__(self) -> str:
        return f"hour {self.hour} {self.domain}: {self.count}"

"""Daily summaries (rollups) of the dashboard's expensive figures, so a 90-day view does not scan every email event.

Only the figures that need the email events and clicks tables are summarised; everything else on the dashboard is
cheap enough to read live. Rows are derived data: `rollup_rebuild` can rebuild any day from the source tables at
any time (funnel/dashboard/services.py explains when they are refreshed and why that keeps them exact).
"""

from django.db import models

from funnel.models.sources import CountedPerSource, one_row_per_source


class EmailDayCount(CountedPerSource):
    """Per-email figures of the sequence emails *sent* on one UTC day, per step and per the lead's first-touch UTM."""

    day = models.DateField()
    step = models.CharField(max_length=32)
    sent = models.PositiveIntegerField(default=0)
    # Emails with at least one such event / click (several opens of one email count once).
    delivered = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    bounces = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)
    upgrade_clicks = models.PositiveIntegerField(default=0)
    machine_clicked = models.PositiveIntegerField(default=0)  # by scanners and bots; not in the two above
    # Paid purchases made through these emails' own links (refunded ones in gross and in refunded_cents).
    purchases = models.PositiveIntegerField(default=0)
    gross_cents = models.BigIntegerField(default=0)
    refunded_cents = models.BigIntegerField(default=0)
    # Our own unsubscribes credited to these emails (each person's last one) plus the ESP's for the others.
    unsubscribes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [one_row_per_source("day", "step", name="one_email_day_count_per_step_source")]

    def __str__(self) -> str:
        return f"{self.day} {self.step} {self.utm_source or '(direct)'}: {self.sent} sent"


class SignupDayCount(CountedPerSource):
    """The signup cohort's figures for the leads who *signed up* on one UTC day, per first-touch UTM: the funnel's
    steps (each lead once), its revenue, time to first purchase and who paid within N days (cohorts)."""

    day = models.DateField()
    signups = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(default=0)
    welcome_opened = models.PositiveIntegerField(default=0)
    upgrade_clicked = models.PositiveIntegerField(default=0)
    checkout_started = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)  # leads with a paid purchase: the buyers
    refunded = models.PositiveIntegerField(default=0)
    gross_cents = models.BigIntegerField(default=0)
    refunded_cents = models.BigIntegerField(default=0)
    # Summed microseconds from signup to each buyer's first paid purchase: the average is this over `paid`.
    to_first_purchase_us = models.BigIntegerField(default=0)
    paid_within_1 = models.PositiveIntegerField(default=0)
    paid_within_3 = models.PositiveIntegerField(default=0)
    paid_within_7 = models.PositiveIntegerField(default=0)
    paid_within_14 = models.PositiveIntegerField(default=0)
    paid_within_30 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [one_row_per_source("day", name="one_signup_day_count_per_source")]

    def __str__(self) -> str:
        return f"{self.day} {self.utm_source or '(direct)'}: {self.welcome_opened} opened the welcome"


class RollupDay(models.Model):
    """A day whose rollup rows are built: the dashboard reads only these days from the rollups, others live."""

    day = models.DateField(unique=True)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} built {self.built_at:%Y-%m-%d %H:%M}"


class RollupCursor(models.Model):
    """How far the refresh has looked through the events / clicks: later rows mark their days for a rebuild.

    Ids are handed out before commit, so a row can appear below `last_id` after a refresh looked. Each refresh
    therefore scans from `previous_id` (the mark of the refresh before the last one): a row is seen as long as
    its transaction commits within one refresh interval.
    """

    name = models.CharField(max_length=32, unique=True)
    last_id = models.BigIntegerField(default=0)
    previous_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at #{self.last_id}"


class DeliverabilityDayCount(models.Model):
    """One UTC day's mail and its fate, per stream and recipients' mailbox provider (the deliverability panel).

    Each figure is counted on the day it happened: sent on the day the email was handed to the ESP, a bounce or a
    complaint on the day the ESP reports it happening (emails counted once per kind and day), an unsubscribe on the
    day the reader unsubscribed. That is how the mailbox providers count their rates too.
    """

    day = models.DateField()
    stream = models.CharField(max_length=16)
    provider = models.CharField(max_length=16)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    hard_bounces = models.PositiveIntegerField(default=0)
    soft_bounces = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    unsubscribes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "stream", "provider"], name="one_deliverability_count_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.stream} {self.provider}: {self.sent} sent"

"""Recipient domains and the mailbox provider behind each, looked up once (providers.py)."""

from django.db import models


class MailboxProvider(models.TextChoices):
    # Each label is the name's own capitalisation ("Gmail", "Microsoft"…), as TextChoices makes it.
    GMAIL = "gmail"
    YAHOO = "yahoo"
    MICROSOFT = "microsoft"
    APPLE = "apple"
    OTHER = "other"


class MailboxDomain(models.Model):
    """A custom recipient domain whose MX host was read: which provider hosts its mailboxes (Google Workspace,
    Microsoft 365…). Well-known consumer domains (gmail.com…) never need a row."""

    domain = models.CharField(max_length=253, unique=True)
    provider = models.CharField(max_length=16, choices=MailboxProvider.choices)
    mx_host = models.CharField(max_length=253, blank=True)  # the most preferred MX host; empty when it has none
    resolved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.domain}: {self.get_provider_display()} ({self.mx_host or 'no MX'})"


class SendingBrake(models.Model):
    """One engagement of the automatic brake (brake.py): while `engaged`, no marketing mail leaves; transactional
    mail does. At most one row is engaged (a partial unique index), so two workers that see the limit reached at
    once engage it once and email staff once. Staff release it with a reason; the row keeps who, when and why, with
    the figures that engaged it and those of the window when it was released."""

    class Cause(models.TextChoices):
        COMPLAINTS = "complaints", "Spam complaints"
        HARD_BOUNCES = "hard_bounces", "Hard bounces"

    engaged = models.BooleanField(default=True)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    engaged_at = models.DateTimeField()
    # The window that engaged it: the last marketing emails sent (at most DELIVERABILITY_BRAKE_WINDOW).
    sent = models.PositiveIntegerField()
    complaints = models.PositiveIntegerField()
    hard_bounces = models.PositiveIntegerField()
    threshold = models.FloatField(help_text="The stop rate the cause reached (a fraction: 0.003 is 0.3 %)")
    staff_emailed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    release_reason = models.TextField(blank=True)
    # The same window when staff released it (complaints that came in after the brake engaged count here).
    released_sent = models.PositiveIntegerField(null=True, blank=True)
    released_complaints = models.PositiveIntegerField(null=True, blank=True)
    released_hard_bounces = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["engaged"], condition=models.Q(engaged=True),
                                               name="one_engaged_sending_brake")]
        indexes = [models.Index(fields=["-engaged_at"], name="sending_brake_latest_idx")]

    def __str__(self) -> str:
        state = "engaged" if self.engaged else f"released {self.released_at:%Y-%m-%d %H:%M}"
        return f"Brake of {self.engaged_at:%Y-%m-%d %H:%M} ({self.get_cause_display()}, {state})"

    @property
    def rate(self) -> float:
        count = self.complaints if self.cause == self.Cause.COMPLAINTS else self.hard_bounces
        return count / self.sent if self.sent else 0.0


class WarmupDay(models.Model):
    """Marketing emails allowed out on one UTC day of a new sending domain's warm-up (warmup.py): slots are taken
    under a row lock before the hand-off, so concurrent workers never send more than the day's cap."""

    day = models.DateField(unique=True)
    taken = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.taken} marketing emails"

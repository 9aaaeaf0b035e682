"""Versioned copy of every email, the one draft per email an editor works on, and the sequence's timing."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone


class EmailCopyQuerySet(models.QuerySet["EmailCopy"]):
    def history(self, step: "str | OuterRef") -> "EmailCopyQuerySet":
        """`step`'s versions, newest first. Versions are never edited in place, so the newest is the one sent now."""
        return self.filter(step=step).order_by("-version")

    def newest(self, step: str) -> "EmailCopy | None":
        """The version of `step` that is sent now, read from the database (not the dispatcher's copy of it)."""
        return self.history(step).first()

    def published(self) -> "EmailCopyQuerySet":
        """The version of each step that is sent now (one query, whatever the number of steps)."""
        newest = EmailCopy.objects.history(OuterRef("step")).values("version")[:1]
        return self.filter(version=Subquery(newest))


class EmailCopy(models.Model):
    """One published version of one email's copy. Never edited in place: an edit, an import, a rollback or a
    promoted experiment adds the next version, so history is the rows of a step in version order."""

    class Origin(models.TextChoices):
        SHIPPED = "shipped", "Shipped with the code (emails/content/files)"
        EDITOR = "editor", "Published in the admin editor"
        IMPORT = "import", "Imported (content_import)"
        ROLLBACK = "rollback", "Rollback to an earlier version"
        EXPERIMENT = "experiment", "Promoted from an experiment"

    step = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="Markdown with merge fields")
    allow_external_links = models.BooleanField(default=False)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = EmailCopyQuerySet.as_manager()

    class Meta:
        verbose_name = "email copy version"
        verbose_name_plural = "email copy versions"
        constraints = [models.UniqueConstraint(fields=["step", "version"], name="one_copy_per_step_version")]
        ordering = ["step", "-version"]

    def __str__(self) -> str:
        return f"{self.step} v{self.version}"


class EmailDraft(models.Model):
    """The work in progress on one email. Saving a draft changes nothing sent; publishing copies it into the next
    EmailCopy version. `revision` counts saves: a save that names an older revision was made over someone else's
    change and is refused."""

    step = models.CharField(max_length=32, unique=True)
    subject = models.CharField(max_length=200, blank=True)
    preheader = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    allow_external_links = models.BooleanField(default=False)
    based_on_version = models.PositiveIntegerField(help_text="The published version this draft started from")
    revision = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"draft of {self.step} (revision {self.revision})"


class SequenceSettings(models.Model):
    """The timing of the sequence and of its follow-up, one row (pk=1). Applies to reminders scheduled from the
    moment it is saved; rows already scheduled keep their time. Empty send hour: DRIP_SEND_HOUR from the environment."""

    send_hour = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(23)],
        help_text="Local hour (0-23, the reader's time zone) at which reminders go out")
    days_between_steps = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(14)],
        help_text="Days from one reminder to the next")
    # The follow-up after the week (emails/follow_up.py), at the same local send hour.
    follow_up_after_days = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Days from day 7 to the first follow-up email")
    follow_up_days_between = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Days from one follow-up email to the next")
    # The sunset (emails/sunset.py): readers who stopped reading are asked once, then stop getting marketing mail.
    sunset_after_emails = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(3), MaxValueValidator(100)],
        help_text="Marketing emails in a row without a human click before a reader is asked")
    sunset_subscribed_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(14), MaxValueValidator(3650)],
        help_text="Days on the list (since confirming) before a reader can be asked")
    sunset_grace_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Days to answer before the reader becomes inactive")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "sequence settings"
        verbose_name_plural = "sequence settings"

    def __str__(self) -> str:
        return "Sequence timing"

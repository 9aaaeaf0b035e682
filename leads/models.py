"""A lead, what they agreed to, and the state the sender reads before every email.

Whatever `emails` must know about a person (paused, stopped, suppressed, customer) is a field here, so an
unsubscribe or a purchase never has to reach into the scheduler.
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Lead(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting confirmation"
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        ERASED = "erased", "Erased"

    class Suppression(models.TextChoices):
        NONE = "", "Not suppressed"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"  # stops every email, transactional included
        COMPLAINT = "complaint", "Spam complaint"  # stops marketing email
        ESP_UNSUBSCRIBE = "esp_unsubscribe", "Unsubscribed at the ESP"  # stops marketing email
        # Several soft bounces in a row (a full mailbox): stops marketing email only, so sign-in links and
        # receipts still go; confirming the address again lifts it.
        SOFT_BOUNCE = "soft_bounce", "Repeated soft bounces"

    # Null once erased: the row stays so anonymous funnel counts survive, the address does not.
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA zone from the browser")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_reason = models.CharField(max_length=500, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    # Reminder preferences, read by the dispatcher at send time.
    paused_until = models.DateTimeField(null=True, blank=True)
    reminders_stopped_at = models.DateTimeField(null=True, blank=True)
    suppression = models.CharField(max_length=16, choices=Suppression.choices, default="", blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)

    # Buyer state. `access_version` is part of every access session: bumping it signs the buyer out everywhere.
    is_customer = models.BooleanField(default=False, db_index=True)
    customer_since = models.DateTimeField(null=True, blank=True)
    access_version = models.PositiveIntegerField(default=0)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    # Where they came from (first touch).
    utm_source = models.CharField(max_length=100, blank=True, db_index=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    landing_path = models.CharField(max_length=500, blank=True)

    is_demo = models.BooleanField(default=False, help_text="Made by seed_demo, not a real person")

    # sha256 of the canonical mailbox (leads/mailbox.py): the spellings of one mailbox (case, quotes, Gmail's dots
    # and +tags) share one confirmation email a day. Set when a confirmation is queued; cleared by erasure.
    mailbox_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    # Part of the state the single-use data download and erasure links are signed over (leads/privacy_link.py):
    # using one moves it, which ends that link and every earlier one.
    privacy_link_used_at = models.DateTimeField(null=True, blank=True)

    # Engagement, read by segments and the sunset (emails/engagement.py, emails/sunset.py): marketing emails sent
    # since the last human click (or ever), raised per dispatcher chunk and reset to 0 by a person's click.
    marketing_since_click = models.PositiveIntegerField(default=0)
    # The sunset cycle: asked "do you still want these?" at (cleared by an answer), and inactive since (no marketing
    # mail until a human click or a preferences save). Changed only through leads.services.lead_sunset_*.
    sunset_asked_at = models.DateTimeField(null=True, blank=True)
    inactive_since = models.DateTimeField(null=True, blank=True)

    # Written only through leads.services.lead_tag_add / lead_tag_remove, which record each change (TagChange).
    tags: "models.ManyToManyField[Tag, LeadTag]" = models.ManyToManyField(
        "Tag", through="LeadTag", related_name="leads", blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["utm_source", "utm_campaign", "created_at"]),
            # "No human click in the last N marketing emails" is `marketing_since_click >= N`: a range scan.
            models.Index(fields=["marketing_since_click"], name="lead_since_click_idx"),
            # The sunset's grace check and the dashboard's count read only the few leads inside a cycle.
            models.Index(fields=["sunset_asked_at"], condition=models.Q(sunset_asked_at__isnull=False),
                         name="lead_sunset_asked_idx"),
            models.Index(fields=["inactive_since"], condition=models.Q(inactive_since__isnull=False),
                         name="lead_inactive_idx"),
        ]
        # Viewing a lead is not exporting it: a data download is personal data leaving the system, so it is a
        # permission of its own, which the view-only "marketing" group does not get (README, "Operating it").
        permissions = [("export_lead", "Can export a lead's personal data")]

    def __str__(self) -> str:
        return f"Lead #{self.pk}"

    @property
    def is_erased(self) -> bool:
        return self.status == self.Status.ERASED


class ConsentRecord(models.Model):
    """Append-only proof of what a person agreed to, when, and from where.

    Kept after erasure with the address replaced by its hash, as the law allows for proving consent.
    """

    class Action(models.TextChoices):
        SIGNUP = "signup", "Signed up"
        CONFIRM = "confirm", "Confirmed (double opt-in)"
        RESUBSCRIBE = "resubscribe", "Resubscribed"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        ERASE = "erase", "Erased"
        IMPORT = "import", "Imported with consent evidence"

    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents")
    email_sha256 = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    consent_version = models.CharField(max_length=32, blank=True)
    consent_text = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} v{self.consent_version} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Consent records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Consent records are append-only")


class SuppressionChange(models.Model):
    """Append-only history of a lead's suppression: what set it (the ESP's reports) and who lifted it, and why.

    The lead's own fields hold only the current state; this is what the timeline and an audit read.
    """

    class Action(models.TextChoices):
        SUPPRESSED = "suppressed", "Suppressed"
        LIFTED = "lifted", "Lifted"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="suppression_changes")
    action = models.CharField(max_length=16, choices=Action.choices)
    suppression = models.CharField(max_length=16, choices=Lead.Suppression.choices)  # the kind set or lifted
    reason = models.CharField(max_length=500, blank=True)
    # The staff user who lifted it; empty when the ESP's events or the reader (confirming again) did.
    by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.get_suppression_display()} for lead #{self.lead_id}"


class SunsetChange(models.Model):
    """Append-only history of a lead's sunset cycles, for the timeline and the dashboard's "revived" figure."""

    class Action(models.TextChoices):
        ASKED = "asked", "Asked whether they still want our emails"
        KEPT = "kept", "Answered: keeps getting our emails"
        INACTIVE = "inactive", "Became inactive (no answer): marketing mail stopped"
        REVIVED = "revived", "Active again: marketing mail resumed"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="sunset_changes")
    action = models.CharField(max_length=8, choices=Action.choices)
    reason = models.CharField(max_length=200, blank=True)  # what answered: a human click, a preferences save
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["action", "created_at"], name="sunset_change_action_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} (lead #{self.lead_id})"


# A tag's name as written in the admin, an import and an email's link (`[Yes](link:free_guide tag:interested)`):
# lower-case letters, digits, "-" and "_", so it reads the same in a URL, a CSV cell and the copy.
TAG_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")


def tag_name_clean(value: str) -> str:
    """The canonical spelling of a tag name (trimmed, lower-case); ValidationError when it is not one."""
    name = value.strip().lower()
    if not TAG_NAME.fullmatch(name):
        raise ValidationError(f"{value!r} is not a tag name: use 1 to 50 lower-case letters, digits, - or _, "
                              "starting with a letter or digit.")
    return name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadTag(models.Model):
    """A lead carries a tag. Segments ask "has tag X" per lead: the unique (lead, tag) index answers that."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="lead_tags", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="lead_tags")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "tag"], name="one_tag_per_lead")]

    def __str__(self) -> str:
        return f"{self.tag_id} on lead #{self.lead_id}"


class TagChange(models.Model):
    """Append-only history of a lead's tags, for the lead's timeline: what, how, and which staff user."""

    class Action(models.TextChoices):
        ADDED = "added", "Tag added"
        REMOVED = "removed", "Tag removed"

    class Source(models.TextChoices):
        ADMIN = "admin", "by staff in the admin"
        EMAIL = "email", "by the reader, through a link in an email"
        IMPORT = "import", "by an import"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tag_changes")
    tag = models.CharField(max_length=50)  # the name, kept if the tag itself is deleted later
    action = models.CharField(max_length=8, choices=Action.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    by = models.CharField(max_length=150, blank=True)  # the staff user; empty for a reader or an import
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.tag} on lead #{self.lead_id}"


# Imports (leads/imports/): in their own module to keep this one readable; imported here so Django finds them.
from leads.imports.models import LeadImport, LeadImportRow  # noqa: E402, F401

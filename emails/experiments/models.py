"""An experiment on one email: its variants and their traffic split. Which variant a reader got is recorded on
their ScheduledEmail row (`variant`), so a retry sends the same arm and revenue is credited per arm."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Experiment(models.Model):
    class Scope(models.TextChoices):
        SUBJECT = "subject", "Subject line only"
        WHOLE = "whole", "The whole email"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        ENDED = "ended", "Ended"

    step = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.SUBJECT)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey("Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step"], condition=Q(status="running"),
                                               name="one_running_experiment_per_step")]

    def __str__(self) -> str:
        return f"{self.name} ({self.step})"


class Variant(models.Model):
    """One arm. For a subject-only experiment only `subject` is used; the body is the published copy's."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1)  # "A".."D"
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share of readers, relative to the others")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "label"], name="one_variant_per_label")]
        ordering = ["experiment", "label"]

    def __str__(self) -> str:
        return f"{self.experiment.name}: {self.label}"

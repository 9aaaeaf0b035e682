from django.db import models
from django.utils import timezone

from leads.models import Lead


class PracticeSession(models.Model):
    """One daily session logged from the app: which areas, which steps, how long, pain before and after."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="practice_sessions")
    local_date = models.DateField(help_text="The day in the lead's own time zone")
    areas = models.JSONField(default=list)
    steps_done = models.JSONField(default=list, help_text='Which of "release", "heat", "stretch" were done')
    # The individual spots and stretches ticked off (content slugs), so the log shows what was worked on.
    items_done = models.JSONField(default=list, blank=True)
    release_seconds = models.PositiveIntegerField(default=0)
    heat_seconds = models.PositiveIntegerField(default=0)
    stretch_seconds = models.PositiveIntegerField(default=0)
    pain_before = models.PositiveSmallIntegerField(null=True, blank=True)
    pain_after = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "local_date"])]

    def __str__(self) -> str:
        return f"Session {self.local_date} lead #{self.lead_id}"

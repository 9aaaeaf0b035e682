"""A segment: a saved, named filter over leads (its conditions are JSON, schema in emails/segments/conditions.py)."""

from typing import Any

from django.db import models
from django.utils import timezone

from emails.segments.conditions import describe, validate_conditions


def _valid_conditions(value: Any) -> None:
    validate_conditions(value)


class Segment(models.Model):
    class Match(models.TextChoices):
        ALL = "all", "All of the conditions"
        ANY = "any", "Any of the conditions"

    name = models.CharField(max_length=100, unique=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    # Canonical JSON, as validate_conditions returns it; written by emails.segments.services only.
    conditions = models.JSONField(default=list, blank=True, validators=[_valid_conditions])
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        """The conditions in words, e.g. "Never bought AND clicked a link in the last 14 day(s)"."""
        if not self.conditions:
            return "every reader"
        joiner = " AND " if self.match == self.Match.ALL else " OR "
        return joiner.join(describe(condition) for condition in self.conditions)

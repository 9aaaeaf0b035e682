"""Writes to segments: every save goes through the condition schema (emails/segments/conditions.py)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from emails.segments.conditions import validate_conditions
from emails.segments.models import Segment


@transaction.atomic
def segment_save(*, segment: Segment | None = None, name: str, match: str, conditions: list[Any],
                 by: str = "") -> Segment:
    """Create a segment (segment=None) or replace an existing one's name, match and conditions.

    ValidationError when a condition is wrong (each named by its position) or `match` is not all/any."""
    if match not in Segment.Match.values:
        raise ValidationError(f"match must be one of {', '.join(Segment.Match.values)}")
    segment = segment or Segment()
    segment.name = name.strip()[:100]
    segment.match = match
    segment.conditions = validate_conditions(conditions)
    segment.updated_by = by[:150]
    segment.save()
    return segment

"""Writes for the practice log."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from funnel.guide import content
from funnel.models import PracticeSession
from funnel.practice.selectors import lead_today
from leads.models import Lead

# Nobody does the daily routine a dozen times a day; past this a script is filling the log (and the chart).
MAX_SESSIONS_PER_DAY = 12


class PracticeLimitReached(Exception):
    """Too many sessions logged today."""


@transaction.atomic
def practice_log(
    *,
    lead: Lead,
    areas: list[str],
    spots_done: list[str],
    stretches_done: list[str],
    heat_seconds: int,
    release_seconds: int = 0,
    stretch_seconds: int = 0,
    pain_before: int | None,
    pain_after: int | None,
    now: datetime | None = None,
) -> PracticeSession:
    """Record one session, dated in the lead's own time zone. Callers validate slugs and ranges (the form)."""
    unknown = [slug for slug in areas if slug not in content.AREAS_BY_SLUG]
    if unknown or not areas:
        raise ValueError(f"unknown or missing areas: {unknown}")
    now = now or timezone.now()
    local_date = lead_today(lead, now=now)
    # Lock the lead so two posts at once cannot both slip under the daily cap.
    Lead.objects.select_for_update().filter(pk=lead.pk).first()
    if PracticeSession.objects.filter(lead=lead, local_date=local_date).count() >= MAX_SESSIONS_PER_DAY:
        raise PracticeLimitReached
    steps = [step for step, done in (("release", bool(spots_done) or release_seconds > 0),
                                     ("heat", heat_seconds > 0),
                                     ("stretch", bool(stretches_done) or stretch_seconds > 0)) if done]
    return PracticeSession.objects.create(
        lead=lead,
        local_date=local_date,
        areas=list(areas),
        steps_done=steps,
        items_done=[*spots_done, *stretches_done],
        release_seconds=release_seconds,
        heat_seconds=heat_seconds,
        stretch_seconds=stretch_seconds,
        pain_before=pain_before,
        pain_after=pain_after,
        created_at=now,
    )

"""Readers with known stories, for segment tests: each helper writes what the real flow would leave behind."""

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import Click, ScheduledEmail
from emails.segments.models import Segment
from emails.segments.selectors import segment_leads
from emails.segments.services import segment_save
from emails.services import click_record
from leads.models import Lead, TagChange
from leads.services import lead_tag_add


def reader(name: str, **fields: Any) -> Lead:
    """A confirmed, subscribed reader who signed up yesterday, unless `fields` say otherwise."""
    now = timezone.now()
    values: dict[str, Any] = {"email": f"{name}@example.com", "first_name": name.title(),
                              "status": Lead.Status.SUBSCRIBED, "created_at": now - timedelta(days=1),
                              "confirmed_at": now - timedelta(days=1), "time_zone": "America/New_York"}
    values.update(fields)
    return Lead.objects.create(**values)


@pytest.fixture(autouse=True)
def _sending(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # records messages in mail.outbox
    settings.DRIP_KICK_ON_QUEUE = False


def sent(lead: Lead, step: str, at: datetime) -> ScheduledEmail:
    """`step` sent to `lead` at `at` by the real dispatcher (which also counts it on the lead)."""
    row = ScheduledEmail.objects.create(lead=lead, step=step, send_at=at)
    with time_machine.travel(at, tick=False):
        outcomes = dispatch_batch()
    assert row.pk in outcomes.sent, outcomes
    row.refresh_from_db()
    return row


def human_click(lead: Lead, row: ScheduledEmail | None = None, *, target: str = Click.Target.FREE_GUIDE) -> Click:
    """A reader's click through the real redirect's service (a browser's agent, well after delivery)."""
    click = click_record(lead_id=lead.pk, row_id=row.pk if row else None, target=target,
                         user_agent="Mozilla/5.0 (Macintosh) Safari/605")
    assert click is not None and click.machine == Click.Machine.HUMAN
    return click


def tag(lead: Lead, name: str) -> None:
    lead_tag_add(lead=lead, tag=name, source=TagChange.Source.ADMIN, by="test")


def names(segment: Segment) -> set[str]:
    return {lead.first_name.lower() for lead in segment_leads(segment)}


def make_segment(conditions: list[dict[str, Any]], match: str = Segment.Match.ALL, name: str = "s") -> Segment:
    return segment_save(name=name, match=match, conditions=conditions)

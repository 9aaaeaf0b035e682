"""Fixtures for copy as data: readers, due rows, and a process whose copy cache starts empty."""

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from emails import dispatch
from emails.content import current
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from leads.models import Lead

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _content_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # records messages in mail.outbox
    settings.DRIP_KICK_ON_QUEUE = False
    dispatch._seconds_per_message = None
    current.forget()


@pytest.fixture
def reader(db: None) -> Callable[..., Lead]:
    def make(**fields: Any) -> Lead:
        n = next(_seq)
        defaults: dict[str, Any] = {"email": f"copy-reader{n}@example.com", "first_name": f"Reader{n}",
                                    "status": Lead.Status.SUBSCRIBED, "time_zone": "UTC",
                                    "confirmed_at": timezone.now()}
        defaults.update(fields)
        return Lead.objects.create(**defaults)

    return make


@pytest.fixture
def due_row(db: None) -> Callable[[Lead, str], ScheduledEmail]:
    def make(lead: Lead, step: str) -> ScheduledEmail:
        stream = ScheduledEmail.Stream.MARKETING if step in SEQUENCE_STEPS else ScheduledEmail.Stream.TRANSACTIONAL
        now = timezone.now() - timedelta(seconds=1)
        return ScheduledEmail.objects.create(lead=lead, step=step, stream=stream, send_at=now, created_at=now)

    return make

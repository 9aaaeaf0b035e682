"""Fixtures for the drip engine: leads, a clock, and a dispatcher run that behaves like beat."""

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from emails import dispatch
from emails.models import ScheduledEmail
from leads.models import Lead

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _drip_settings(settings: Any) -> None:
    # The anymail test backend records messages (with ESP-like message ids) in mail.outbox.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.DRIP_SEND_HOUR = 8
    settings.DRIP_DAY_SECONDS = 86400
    # Tests run the dispatcher themselves; no stray tasks for other tests' workers.
    settings.DRIP_KICK_ON_QUEUE = False
    # Each test starts like a fresh worker: backend speed not yet learnt, so the first hand-off is small.
    dispatch._seconds_per_message = None


@pytest.fixture
def make_lead(db: None) -> Callable[..., Lead]:
    def make(**fields: Any) -> Lead:
        n = next(_seq)
        defaults: dict[str, Any] = {"email": f"reader{n}@example.com", "first_name": f"Reader{n}",
                                    "status": Lead.Status.SUBSCRIBED, "time_zone": "America/New_York"}
        defaults.update(fields)
        return Lead.objects.create(**defaults)

    return make


class Clock:
    """time-machine, moved by hand; the dispatcher runs at each step like beat would."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._traveller = time_machine.travel(start, tick=False)
        self._traveller.start()

    def move_to(self, when: datetime) -> None:
        self.now = when
        self._traveller.stop()
        self._traveller = time_machine.travel(when, tick=False)
        self._traveller.start()

    def advance(self, delta: timedelta) -> None:
        self.move_to(self.now + delta)

    def stop(self) -> None:
        self._traveller.stop()


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], Clock]]:
    clocks: list[Clock] = []

    def start(at: datetime) -> Clock:
        c = Clock(at.astimezone(UTC))
        clocks.append(c)
        return c

    yield start
    for c in clocks:
        c.stop()


def run_dispatcher() -> int:
    return dispatch.dispatch_due()


def walk(clock: Clock, *, until: datetime, step: timedelta = timedelta(minutes=15),
         on_tick: Callable[[datetime], None] | None = None) -> None:
    """Move the clock in steps, running the dispatcher at each, the way beat would."""
    while clock.now < until:
        clock.advance(step)
        if on_tick:
            on_tick(clock.now)
        run_dispatcher()


def sent_to(lead: Lead) -> list[Any]:
    return [m for m in mail.outbox if m.to == [lead.email]]


def rows(lead: Lead) -> dict[str, ScheduledEmail]:
    return {r.step: r for r in ScheduledEmail.objects.filter(lead=lead)}


@pytest.fixture
def transactional_template(db: None) -> str:
    """A transactional step of our own, so these tests do not depend on other areas' copy."""
    from emails.content.models import EmailCopy
    from emails.content.services import copy_publish
    from emails.content.text import CopyText

    copy_publish(step="test-receipt", text=CopyText(subject="Your receipt, {{ first_name }}", preheader="",
                                                    body="Receipt for {{ first_name }}.\n"),
                 origin=EmailCopy.Origin.EDITOR)
    return "test-receipt"


def free_port_closed() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    from tests.conftest import free_port

    return free_port()

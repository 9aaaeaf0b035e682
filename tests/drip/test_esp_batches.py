"""Postmark's /email/batch through anymail's real Postmark backend and a local fake of Postmark's HTTP API: one
request per batch, and each message's own answer lands on its own row."""

import collections
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from leads.models import Lead

from .fake_esp import FakePostmark, point_anymail_at

pytestmark = pytest.mark.django_db
Status = ScheduledEmail.Status


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 10}  # 500 messages take longer than 0.5 s
        yield fake


def due_welcomes(n: int) -> list[ScheduledEmail]:
    leads = Lead.objects.bulk_create([Lead(email=f"batch{i}@example.com", first_name=f"Reader{i}",
                                           status=Lead.Status.SUBSCRIBED) for i in range(n)])
    now = timezone.now() - timedelta(seconds=1)
    return ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome", send_at=now, created_at=now)
                                               for lead in leads])


def test_one_inactive_address_among_500_is_suppressed_and_the_other_499_are_sent(esp: FakePostmark) -> None:
    rows = due_welcomes(500)
    gone = rows[137]
    esp.inactive.add(str(gone.lead.email))

    dispatch_batch(size=500)

    assert esp.requests == 1, "one /email/batch request for the whole batch"
    gone.refresh_from_db()
    assert (gone.status, gone.skip_reason) == (Status.SKIPPED, Lead.Suppression.HARD_BOUNCE)
    assert Lead.objects.get(pk=gone.lead_id).suppression == Lead.Suppression.HARD_BOUNCE
    # Each row carries the MessageID Postmark gave its own message (results come back in request order).
    accepted = {int(m["Metadata"]["row_id"]): m["MessageID"] for m in esp.accepted}
    sent = dict(ScheduledEmail.objects.filter(status=Status.SENT).values_list("pk", "esp_message_id"))
    assert len(sent) == 499 and sent == accepted


def test_an_invalid_message_fails_alone_with_postmarks_reason(esp: FakePostmark) -> None:
    rows = due_welcomes(3)
    esp.invalid[str(rows[1].lead.email)] = "Invalid 'To' address: 'batch1@example.com'."

    dispatch_batch()

    statuses = dict(ScheduledEmail.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in rows] == [Status.SENT, Status.FAILED, Status.SENT]
    failed = ScheduledEmail.objects.get(pk=rows[1].pk)
    assert "300" in failed.last_error and "Invalid 'To' address" in failed.last_error
    assert Lead.objects.get(pk=rows[1].lead_id).suppression == ""


def test_a_429_for_the_whole_batch_sends_nothing_then_everything_once_after_retry_after(esp: FakePostmark) -> None:
    rows = due_welcomes(20)
    esp.script.append((429, {"RetryAfter": 2, "Message": "Rate limit exceeded"}))

    refused_at = timezone.now()
    dispatch_batch()

    assert not esp.accepted
    waiting = list(ScheduledEmail.objects.filter(pk__in=[r.pk for r in rows]))
    assert {r.status for r in waiting} == {Status.SCHEDULED}
    assert {r.attempts for r in waiting} == {0}, "the ESP said when: no attempt is used up"
    retry_at = max(r.send_at for r in waiting)
    assert timedelta(seconds=1.5) < min(r.send_at for r in waiting) - refused_at < timedelta(seconds=3)

    assert dispatch_batch().counts() == {}, "nothing is due before Retry-After"
    started = time.monotonic()
    dispatch_batch(now=retry_at)
    # Every worker honours the pause the 429 set, even one that was handed a row due earlier.
    assert time.monotonic() - started > 1.0 or timezone.now() >= refused_at + timedelta(seconds=2)
    assert collections.Counter(int(m["Metadata"]["row_id"]) for m in esp.accepted) == {r.pk: 1 for r in rows}
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.SENT}
    assert esp.requests == 2

"""Exactly once without staff (Postmark): an `unknown` row is settled by asking Postmark's Outbound Messages search
(the fake implements it, with Postmark's response shape and an indexing delay)."""

import collections
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from emails.dispatch import dispatch_batch, recover_expired_leases
from emails.esp_lookup import unknown_rows_settle
from emails.models import EmailEvent, ScheduledEmail
from emails.tasks import dispatch_due as dispatch_due_task
from leads.models import Lead
from tests.conftest import wait_until

from .fake_esp import FakePostmark, point_anymail_at

Status = ScheduledEmail.Status
MORNING = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        settings.ESP_LOOKUP_AFTER_SECONDS = 600
        yield fake


def due_welcomes(n: int, *, first: int = 0) -> list[int]:
    leads = Lead.objects.bulk_create([Lead(email=f"lookup{i}@example.com", first_name=f"Reader{i}",
                                           status=Lead.Status.SUBSCRIBED) for i in range(first, first + n)])
    now = timezone.now() - timedelta(seconds=1)
    rows = ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome", send_at=now, created_at=now)
                                               for lead in leads])
    return [row.pk for row in rows]


def accepted_per_row(esp: FakePostmark) -> collections.Counter[int]:
    return collections.Counter(int(m["Metadata"]["row_id"]) for m in esp.accepted)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_the_batch_request_and_the_outcome_write_is_settled_by_the_lookup(
        esp: FakePostmark, celery_worker_process: Any, worker_env: dict[str, str]) -> None:
    worker_env.update({"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                       "ANYMAIL_POSTMARK_SERVER_TOKEN": "test-token", "ANYMAIL_POSTMARK_API_URL": esp.url,
                       "DRIP_LEASE_SECONDS": "2", "DRIP_KICK_ON_QUEUE": "false"})
    dispatch_due_task.app.control.purge()  # stray kicks from earlier tests must not run in this worker
    ids = due_welcomes(30)
    esp.script.append("take, then hang")  # Postmark takes the whole batch; the worker dies before the answer
    esp.index_delay = 5.0
    celery_worker_process.start()
    dispatch_due_task.delay()
    wait_until(lambda: len(esp.accepted) == len(ids), timeout=60, what="Postmark to take the batch")
    celery_worker_process.kill(signal.SIGKILL)

    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.SENDING}
    recover_expired_leases(now=timezone.now() + timedelta(seconds=3))  # the next dispatcher run, after the lease
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.UNKNOWN}

    # Not yet in Postmark's index: nothing is resent while we wait for it.
    assert unknown_rows_settle()["waiting"] == len(ids)
    wait_until(lambda: unknown_rows_settle()["found"] or None, timeout=15, interval=0.5,
               what="Postmark's search to find the messages")
    unknown_rows_settle()  # the run that found the first ones may have stopped short of none: settle the rest

    given = {int(m["Metadata"]["row_id"]): m["MessageID"] for m in esp.accepted}
    assert dict(ScheduledEmail.objects.filter(status=Status.SENT).values_list("pk", "esp_message_id")) == given
    dispatch_batch(now=timezone.now() + timedelta(hours=1))
    assert accepted_per_row(esp) == {pk: 1 for pk in ids}, "nothing Postmark has was sent again"
    assert not EmailEvent.objects.filter(event_type="resent").exists()


@pytest.mark.django_db
def test_a_message_not_yet_searchable_is_not_resent_early_and_one_postmark_never_got_is_resent_once(
        esp: FakePostmark, clock: Any, tmp_path: Path) -> None:
    c = clock(MORNING)
    (taken,) = due_welcomes(1)
    # `taken` reaches Postmark, but our client times out before the answer: unknown. Postmark indexes it late.
    esp.index_delay = 3600
    esp.hang_seconds = 1.0
    esp.script.append("take, then hang")
    dispatch_batch()
    # `lost` was marked handed over, then its worker died before the request went out.
    (lost,) = due_welcomes(1, first=1)
    ScheduledEmail.objects.filter(pk=lost).update(status=Status.UNKNOWN, handed_at=timezone.now(), claimed_by="gone")
    statuses = dict(ScheduledEmail.objects.values_list("pk", "status"))
    assert statuses == {taken: Status.UNKNOWN, lost: Status.UNKNOWN}

    c.advance(timedelta(seconds=599))
    assert unknown_rows_settle() == {"found": 0, "resent": 0, "waiting": 2, "left": 0}
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.UNKNOWN}

    # Past the indexing delay: Postmark's index now lists `taken`; `lost` is still nowhere, so it is sent again.
    esp.indexed_at = dict.fromkeys(esp.indexed_at, 0.0)
    c.advance(timedelta(seconds=2))
    assert unknown_rows_settle() == {"found": 1, "resent": 1, "waiting": 0, "left": 0}
    row = ScheduledEmail.objects.get(pk=taken)
    assert (row.status, row.esp_message_id) == (Status.SENT, esp.accepted[0]["MessageID"])
    resent = ScheduledEmail.objects.get(pk=lost)
    assert resent.status == Status.SCHEDULED and resent.last_error.startswith("resent")

    dispatch_batch()
    assert ScheduledEmail.objects.get(pk=lost).status == Status.SENT
    assert accepted_per_row(esp) == {taken: 1, lost: 1}
    out = StringIO()
    call_command("drip_timeline", resent.lead.email, stdout=out)
    assert "events: resent" in out.getvalue()
    assert unknown_rows_settle() == {"found": 0, "resent": 0, "waiting": 0, "left": 0}


@pytest.mark.django_db
def test_other_esps_keep_unknown_rows_for_their_webhooks_and_staff(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    (pk,) = due_welcomes(1)
    ScheduledEmail.objects.filter(pk=pk).update(status=Status.UNKNOWN, handed_at=timezone.now() - timedelta(days=1))
    assert unknown_rows_settle() == {"found": 0, "resent": 0, "waiting": 0, "left": 0}
    assert ScheduledEmail.objects.get(pk=pk).status == Status.UNKNOWN

"""Many dispatchers at once on PostgreSQL, and a real Celery worker killed mid-batch."""

import collections
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from emails.dispatch import FIRST_CHUNK, dispatch_due
from emails.models import ScheduledEmail
from emails.tasks import dispatch_due as dispatch_due_task
from emails.tracking import email_event_record
from leads.models import Lead
from tests.conftest import wait_until

from . import backends

Status = ScheduledEmail.Status


def make_due_rows(n: int) -> list[int]:
    leads = Lead.objects.bulk_create(
        [Lead(email=f"c{i}@example.com", status=Lead.Status.SUBSCRIBED) for i in range(n)])
    rows = ScheduledEmail.objects.bulk_create(
        [ScheduledEmail(lead=lead, step="welcome", send_at=timezone.now() - timedelta(seconds=1)) for lead in leads])
    return [r.pk for r in rows]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_send_a_row_twice(settings: Any) -> None:
    settings.EMAIL_BACKEND = "tests.drip.backends.RecordingBackend"
    settings.DRIP_BATCH_SIZE = 7
    backends.reset()
    backends.RecordingBackend.delay = 0.002
    ids = make_due_rows(150)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(3):  # like beat firing again while the first run is still going
                dispatch_due()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        backends.RecordingBackend.delay = 0.0
    assert not errors, errors
    counts = collections.Counter(backends.RECORDED)
    assert sorted(int(k) for k in counts) == sorted(ids)
    assert max(counts.values()) == 1
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(backends.SENDER_THREADS) >= 2  # they really ran side by side


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_leaves_no_duplicate_and_the_rest_go_out(
        celery_worker_process: Any, worker_env: dict[str, str], tmp_path: Path) -> None:
    record = tmp_path / "accepted.txt"
    worker_env.update({
        "EMAIL_BACKEND": "tests.drip.backends.SlowFileBackend", "SLOW_BACKEND_FILE": str(record),
        "SLOW_BACKEND_DELAY": "0.3", "DRIP_BATCH_SIZE": "8", "DRIP_LEASE_SECONDS": "2",
        "DRIP_KICK_ON_QUEUE": "false", "REDIS_URL": worker_env.get("REDIS_URL", ""),
    })
    dispatch_due_task.app.control.purge()  # stray kicks from earlier tests must not run in this worker
    ids = make_due_rows(20)
    celery_worker_process.start()
    dispatch_due_task.delay()
    # Kill while the first batch is being handed to the backend: two accepted, more to go.
    wait_until(lambda: len(backends.read_lines(record)) >= 2, timeout=60, what="two accepted sends")
    celery_worker_process.kill(signal.SIGKILL)
    accepted_before_kill = backends.read_lines(record)
    assert len(accepted_before_kill) < 8  # really mid-batch

    celery_worker_process.start()

    def all_settled() -> bool:
        dispatch_due_task.delay()  # what beat would do every few seconds
        return not ScheduledEmail.objects.filter(status__in=[Status.SCHEDULED, Status.SENDING]).exists()

    wait_until(all_settled, timeout=90, interval=1.0, what="every row sent or set aside")

    accepted = backends.read_lines(record)
    assert len(accepted) == len(set(accepted)), "a row was sent twice"
    statuses = dict(ScheduledEmail.objects.values_list("pk", "status"))
    unknown = {pk for pk, s in statuses.items() if s == Status.UNKNOWN}
    sent = {pk for pk, s in statuses.items() if s == Status.SENT}
    assert sent | unknown == set(ids)
    # Only rows that were in the backend's hands when the worker died are unknown; the rest went out.
    assert set(map(int, accepted_before_kill)) <= unknown
    assert len(unknown) <= FIRST_CHUNK  # the chunk marked as handed over; the rest of the batch was requeued
    assert sent <= set(map(int, accepted))
    assert len(sent) == 20 - len(unknown)

    # The ESP's events carry our row id: rows it did accept are reconciled to sent, the others stay for review.
    from anymail.signals import AnymailTrackingEvent

    for row_id in accepted_before_kill:
        email_event_record(event=AnymailTrackingEvent(
            event_type="delivered", event_id=f"d-{row_id}", message_id=f"rec-{row_id}",
            metadata={"row_id": row_id}), esp_name="Test")
    final = dict(ScheduledEmail.objects.values_list("pk", "status"))
    assert {pk for pk, s in final.items() if s == Status.SENT} == set(map(int, accepted))
    assert all(s in (Status.SENT, Status.UNKNOWN) for s in final.values())


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_enrolment_kicks_a_real_worker_on_commit_without_waiting_for_beat(
        celery_worker_process: Any, worker_env: dict[str, str], tmp_path: Path, settings: Any,
        make_lead: Any) -> None:
    from emails.services import sequence_enrol

    record = tmp_path / "accepted.txt"
    worker_env.update({"EMAIL_BACKEND": "tests.drip.backends.SlowFileBackend", "SLOW_BACKEND_FILE": str(record),
                       "SLOW_BACKEND_DELAY": "0", "DRIP_KICK_ON_QUEUE": "false"})
    dispatch_due_task.app.control.purge()
    celery_worker_process.start()
    settings.DRIP_KICK_ON_QUEUE = True  # this process plays the web app; no beat runs in this test
    lead = make_lead()
    sequence_enrol(lead=lead)  # autocommit: the kick goes out as the rows commit
    welcome = ScheduledEmail.objects.get(lead=lead, step="welcome")
    wait_until(lambda: ScheduledEmail.objects.filter(pk=welcome.pk, status=Status.SENT).exists(), timeout=30,
               what="the kicked worker to send the welcome")
    assert backends.read_lines(record) == [str(welcome.pk)]
    assert ScheduledEmail.objects.filter(lead=lead, status=Status.SCHEDULED).count() == 7  # the week waits

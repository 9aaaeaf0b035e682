"""The dispatcher's PostgreSQL connection dropped mid-batch (terminated by the server, as a failover or an
idle-killer would): the batch is retried, nothing is sent twice, nothing is lost."""

import collections
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from anymail.signals import AnymailTrackingEvent
from django.core.mail import EmailMessage
from django.db import OperationalError, connection
from django.utils import timezone

from emails import dispatch
from emails.models import ScheduledEmail
from emails.tracking import email_event_record
from leads.models import Lead
from tests.conftest import database_url_for_subprocess
from tests.drip.backends import RECORDED as ACCEPTED
from tests.drip.backends import RecordingBackend, reset

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = ScheduledEmail.Status


class TerminatingBackend(RecordingBackend):
    """Accepts like an ESP; at message number `kill_at` another connection terminates the dispatcher's."""

    kill_at = 0
    victim_pid = 0
    seen = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        cls = type(self)
        cls.seen += len(email_messages)
        if cls.seen == cls.kill_at:
            with psycopg.connect(database_url_for_subprocess().replace("postgres://", "postgresql://"),
                                 autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [cls.victim_pid])
        return sent


def due_rows(n: int) -> set[int]:
    leads = Lead.objects.bulk_create([Lead(email=f"drop{i}@example.com", first_name=f"D{i}",
                                           status=Lead.Status.SUBSCRIBED) for i in range(n)])
    rows = ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome",
                                                              send_at=timezone.now() - timedelta(seconds=1))
                                               for lead in leads])
    return {r.pk for r in rows}


@pytest.mark.parametrize("kill_at", [2, dispatch.FIRST_CHUNK + 3])
def test_connection_terminated_between_claim_and_mark_sent(settings: Any, kill_at: int) -> None:
    settings.EMAIL_BACKEND = "tests.faults.test_postgres_drop.TerminatingBackend"
    settings.DRIP_KICK_ON_QUEUE = False
    reset()
    ids = due_rows(12)
    connection.ensure_connection()
    TerminatingBackend.victim_pid = connection.connection.info.backend_pid
    TerminatingBackend.kill_at, TerminatingBackend.seen = kill_at, 0

    with pytest.raises(OperationalError):
        dispatch.dispatch_batch(size=len(ids))
    connection.close()  # what Celery's Django fixup does after a failed task: the next query reconnects
    TerminatingBackend.kill_at = 0
    assert ScheduledEmail.objects.filter(status=Status.SENDING).count() == len(ids), "the claim was committed"

    # The next dispatcher runs after the lease ran out (beat runs it every few seconds).
    later = timezone.now() + timedelta(seconds=settings.DRIP_LEASE_SECONDS + 1)
    recovered = dispatch.recover_expired_leases(now=later)
    while dispatch.dispatch_batch(now=later, size=len(ids)).counts():
        pass

    counts = collections.Counter(int(row) for row in ACCEPTED)
    assert max(counts.values()) == 1, "a message went to the ESP twice"
    assert set(counts) == ids, "a message never went to the ESP"
    # Rows whose hand-over had started are `unknown` (never resent blindly); the ESP's delivery events settle them.
    unknown = set(ScheduledEmail.objects.filter(status=Status.UNKNOWN).values_list("pk", flat=True))
    assert len(unknown) == recovered["unknown"] >= 1
    for row_id in unknown:
        email_event_record(event=AnymailTrackingEvent(
            event_type="delivered", event_id=f"drop-{row_id}", message_id=f"rec-{row_id}",
            metadata={"row_id": str(row_id)}), esp_name="Test")
    assert set(ScheduledEmail.objects.values_list("status", flat=True)) == {Status.SENT}

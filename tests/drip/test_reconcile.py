"""Issue 12 D: `unknown` rows reconcile, whatever order the ESP's events, crashes and lease expiries come in.

On PostgreSQL, at the task and webhook boundaries: the dispatcher runs as the Celery task does
(`emails.tasks.dispatch_due`), mail goes through anymail's real Postmark backend to the fake Postmark API, and
delivery events come back as Postmark's webhook payloads. A crash is a worker killed mid-batch: in process, a
BaseException raised by the backend right after the ESP accepted a message (nothing in the dispatcher may catch
it, as nothing runs after SIGKILL); and once with a real Celery worker and SIGKILL.
"""

import base64
import collections
import json
import signal
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from anymail.backends.postmark import EmailBackend as PostmarkBackend
from anymail.message import AnymailMessage
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMessage
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from emails import tasks
from emails.dispatch import FIRST_CHUNK, dispatch_batch
from emails.models import EmailEvent, ScheduledEmail
from emails.services import sequence_enrol
from leads.models import Lead
from tests.conftest import wait_until

from . import backends
from .fake_esp import FakePostmark, point_anymail_at

Status = ScheduledEmail.Status
# 10:00 in New York (the leads' zone): each lead's welcome is due, their day-1 only tomorrow morning.
START = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
BATCH = 2 * FIRST_CHUNK  # the first chunk is FIRST_CHUNK messages, the second the rest of the batch


class ProcessDied(BaseException):  # noqa: N818 - it stands for SIGKILL, not for an error
    """The worker dies here. Not an Exception: the dispatcher must not (and cannot, after SIGKILL) catch it."""


class ScriptedPostmark(PostmarkBackend):
    """Postmark's real backend, plus something that happens right after the ESP accepted the n-th message
    (counted across connections): the worker dies, or another worker runs."""

    accepted = 0
    after: dict[int, Callable[[], None]] = {}
    on_error: Callable[[Sequence[EmailMessage]], None] | None = None

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        try:
            count = super().send_messages(email_messages)
        except Exception:
            if ScriptedPostmark.on_error is not None:
                ScriptedPostmark.on_error(email_messages)
            raise
        ScriptedPostmark.accepted += count
        action = ScriptedPostmark.after.pop(ScriptedPostmark.accepted, None)
        if action is not None:
            action()
        return count


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        settings.EMAIL_BACKEND = f"{__name__}.ScriptedPostmark"
        settings.ESP_CONCURRENCY = 1  # the script counts messages one by one, in the order they are handed over
        ScriptedPostmark.accepted, ScriptedPostmark.after, ScriptedPostmark.on_error = 0, {}, None
        yield fake
        ScriptedPostmark.after, ScriptedPostmark.on_error = {}, None


def die() -> None:
    raise ProcessDied


def postmark_webhook(settings: Any, payload: dict[str, Any]) -> None:
    # Our webhook URL serves the configured ESP's view; the scripted backend is Postmark's, so is the webhook.
    auth = "Basic " + base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    with override_settings(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend"):
        response = Client().post("/anymail/postmark/tracking/", json.dumps(payload),
                                 content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content


def delivered(settings: Any, accepted: dict[str, Any]) -> None:
    """Postmark's delivery webhook for a message the fake accepted (fields as in Postmark's webhook docs)."""
    postmark_webhook(settings, {
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": accepted["MessageID"],
        "Recipient": accepted["To"], "Tag": accepted.get("Tag", ""), "DeliveredAt": "2027-01-15T15:00:02Z",
        "Details": "smtp;250 2.0.0 OK", "Metadata": accepted["Metadata"]})


def welcomes(make_lead: Any, n: int) -> list[int]:
    """n leads, each with a welcome due now; their ids in the order the dispatcher takes them."""
    for _ in range(n):
        sequence_enrol(lead=make_lead())
    return list(ScheduledEmail.objects.filter(step="welcome").order_by("send_at", "pk").values_list("pk", flat=True))


def status_of(ids: list[int]) -> list[str]:
    found = dict(ScheduledEmail.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [found[pk] for pk in ids]


def row_ids_received(esp: FakePostmark) -> list[int]:
    return [int(request["Metadata"]["row_id"]) for request in esp.received]


def outbox_row_ids() -> list[int]:
    """The rows of the messages anymail's test backend took (our metadata rides on every message)."""
    return [int(m.metadata["row_id"]) for m in mail.outbox if isinstance(m, AnymailMessage)]


def accepted_ids(esp: FakePostmark) -> dict[int, str]:
    return {int(a["Metadata"]["row_id"]): a["MessageID"] for a in esp.accepted}


@pytest.mark.django_db
@pytest.mark.parametrize("webhook", ["while sending", "after unknown"])
def test_a_row_the_esp_delivered_is_reconciled_whether_its_webhook_came_before_or_after_it_became_unknown(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, webhook: str) -> None:
    c = clock(START)
    ids = welcomes(make_lead, BATCH)
    ScriptedPostmark.after[2] = die  # two of the first chunk accepted, then the worker is gone
    with pytest.raises(ProcessDied):
        dispatch_batch(size=BATCH)
    first_chunk = ids[:FIRST_CHUNK]
    assert status_of(first_chunk) == [Status.SENDING] * FIRST_CHUNK
    delivered_ids = list(accepted_ids(esp))
    assert delivered_ids == first_chunk[:2]

    if webhook == "while sending":  # the usual case: Postmark reports a delivery within seconds
        for accepted in esp.accepted:
            delivered(settings, accepted)
        assert status_of(delivered_ids) == [Status.SENDING] * 2
    c.advance(timedelta(seconds=settings.DRIP_LEASE_SECONDS + 1))
    tasks.dispatch_due()  # beat's next run recovers the expired lease, then sends what never left
    if webhook == "after unknown":
        assert status_of(delivered_ids) == [Status.UNKNOWN] * 2
        for accepted in esp.accepted[:2]:
            delivered(settings, accepted)

    rows = {r.pk: r for r in ScheduledEmail.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in first_chunk] == [Status.SENT, Status.SENT, Status.UNKNOWN, Status.UNKNOWN]
    assert {pk: rows[pk].esp_message_id for pk in delivered_ids} == {
        pk: message_id for pk, message_id in accepted_ids(esp).items() if pk in delivered_ids}
    assert status_of(ids[FIRST_CHUNK:]) == [Status.SENT] * FIRST_CHUNK  # never handed over: sent now
    assert sorted(row_ids_received(esp)) == sorted(set(row_ids_received(esp)))  # nothing twice


@pytest.mark.django_db
def test_a_delivery_webhook_that_beat_a_timed_out_request_settles_the_row_at_once(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any) -> None:
    clock(START)
    (row_id,) = welcomes(make_lead, 1)
    esp.script.append("hang")  # Postmark takes the message but answers after our client gave up

    def delivered_before_we_knew(messages: Sequence[EmailMessage]) -> None:
        assert status_of([row_id]) == [Status.SENDING]
        message = messages[0]
        assert isinstance(message, AnymailMessage)
        delivered(settings, {"MessageID": "pm-fast", "To": message.to[0], "Metadata": message.metadata})

    ScriptedPostmark.on_error = delivered_before_we_knew
    tasks.dispatch_due()
    row = ScheduledEmail.objects.get(pk=row_id)
    assert (row.status, row.esp_message_id, row.last_error) == (Status.SENT, "pm-fast", "")
    assert row_ids_received(esp) == [row_id]


@pytest.mark.django_db
def test_a_crash_mid_batch_leaves_at_most_the_chunk_in_flight_unknown(esp: FakePostmark, make_lead: Any,
                                                                     settings: Any, clock: Any) -> None:
    c = clock(START)
    ids = welcomes(make_lead, BATCH)
    ScriptedPostmark.after[FIRST_CHUNK + 1] = die  # the first chunk is through, one of the second accepted
    with pytest.raises(ProcessDied):
        dispatch_batch(size=BATCH)
    c.advance(timedelta(seconds=settings.DRIP_LEASE_SECONDS + 1))
    tasks.dispatch_due()

    first, second = ids[:FIRST_CHUNK], ids[FIRST_CHUNK:]
    assert status_of(first) == [Status.SENT] * FIRST_CHUNK
    sent_ids = dict(ScheduledEmail.objects.filter(pk__in=first).values_list("pk", "esp_message_id"))
    assert sent_ids == {pk: m for pk, m in accepted_ids(esp).items() if pk in first}
    assert status_of(second) == [Status.UNKNOWN] * len(second)  # handed over when it died: for review
    assert sorted(row_ids_received(esp)) == ids[:FIRST_CHUNK + 1]  # and never sent again


@pytest.mark.django_db
def test_a_dispatcher_that_lost_its_lease_keeps_what_it_knows_it_sent(esp: FakePostmark, make_lead: Any,
                                                                    settings: Any, clock: Any) -> None:
    c = clock(START)
    ids = welcomes(make_lead, BATCH)

    def another_worker_after_the_lease_ran_out() -> None:
        # The first worker stalled mid-chunk past its lease; beat runs the task elsewhere meanwhile.
        c.advance(timedelta(seconds=settings.DRIP_LEASE_SECONDS + 1))
        tasks.dispatch_due()

    ScriptedPostmark.after[2] = another_worker_after_the_lease_ran_out
    dispatch_batch(size=BATCH)

    assert status_of(ids) == [Status.SENT] * BATCH
    rows = dict(ScheduledEmail.objects.filter(pk__in=ids).values_list("pk", "esp_message_id"))
    assert rows == accepted_ids(esp)  # the first chunk's ids too: written over the recovery's `unknown`
    assert collections.Counter(row_ids_received(esp)) == dict.fromkeys(ids, 1)


@pytest.mark.django_db
def test_admin_retry_refuses_rows_with_any_acceptance_evidence(make_lead: Any, clock: Any) -> None:
    clock(START)
    lead = make_lead()
    sequence_enrol(lead=lead)
    delivered_row, with_id_row, refused_row, silent_row = ScheduledEmail.objects.filter(lead=lead).order_by(
        "send_at")[:4]
    # Rows this fix no longer leaves behind, but earlier code did (and an admin can still select): unknown or
    # failed although the ESP reported the message, e.g. delivered while the row was `sending`.
    ScheduledEmail.objects.filter(pk__in=[delivered_row.pk, silent_row.pk]).update(status=Status.UNKNOWN)
    ScheduledEmail.objects.filter(pk=with_id_row.pk).update(status=Status.FAILED, esp_message_id="pm-accepted")
    ScheduledEmail.objects.filter(pk=refused_row.pk).update(status=Status.FAILED)
    EmailEvent.objects.create(event_id="d1", event_type="delivered", scheduled_email=delivered_row, lead=lead)
    EmailEvent.objects.create(event_id="r1", event_type="rejected", scheduled_email=refused_row, lead=lead)

    admin = Client()
    admin.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    picked = [delivered_row.pk, with_id_row.pk, refused_row.pk, silent_row.pk]
    response = admin.post(reverse("admin:emails_scheduledemail_changelist"),
                          {"action": "retry_rows", "_selected_action": picked}, follow=True)
    text = response.content.decode()
    assert "2 email(s) rescheduled for now." in text
    assert (f"Not retried: the ESP already accepted 2 email(s) (rows #{delivered_row.pk}, #{with_id_row.pk})"
            in text)
    assert status_of(picked) == [Status.UNKNOWN, Status.FAILED, Status.SCHEDULED, Status.SCHEDULED]
    dispatch_batch()
    assert sorted(outbox_row_ids()) == sorted([refused_row.pk, silent_row.pk])


@pytest.mark.redis
@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_at_most_one_chunk_unknown(celery_worker_process: Any, worker_env: dict[str, str],
                                                          tmp_path: Path, clock: Any) -> None:
    record = tmp_path / "accepted.txt"
    worker_env.update({
        "EMAIL_BACKEND": "tests.drip.backends.SlowFileBackend", "SLOW_BACKEND_FILE": str(record),
        "SLOW_BACKEND_DELAY": "0.3", "DRIP_BATCH_SIZE": str(BATCH), "DRIP_KICK_ON_QUEUE": "false",
    })
    tasks.dispatch_due.app.control.purge()  # stray kicks from earlier tests must not run in this worker
    leads = Lead.objects.bulk_create([Lead(email=f"k{i}@example.com", status=Lead.Status.SUBSCRIBED)
                                      for i in range(3 * BATCH)])
    ids = [r.pk for r in ScheduledEmail.objects.bulk_create(
        [ScheduledEmail(lead=lead, step="welcome", send_at=timezone.now() - timedelta(seconds=1)) for lead in leads])]
    celery_worker_process.start()
    tasks.dispatch_due.delay()
    # Killed in the batch's second chunk: the first chunk is through the backend, one of the second is too.
    wait_until(lambda: len(backends.read_lines(record)) > FIRST_CHUNK, timeout=60, what="the second chunk")
    celery_worker_process.kill(signal.SIGKILL)
    accepted_before_kill = [int(pk) for pk in backends.read_lines(record)]
    assert len(accepted_before_kill) < BATCH  # really mid-batch

    clock(timezone.now() + timedelta(hours=1))  # long past the worker's lease
    tasks.dispatch_due()  # beat's next run, in this process (anymail's test backend)

    statuses = dict(ScheduledEmail.objects.values_list("pk", "status"))
    first_chunk = accepted_before_kill[:FIRST_CHUNK]
    assert [statuses[pk] for pk in first_chunk] == [Status.SENT] * FIRST_CHUNK
    assert dict(ScheduledEmail.objects.filter(pk__in=first_chunk).values_list("pk", "esp_message_id")) == {
        pk: f"rec-{pk}" for pk in first_chunk}
    unknown = {pk for pk, s in statuses.items() if s == Status.UNKNOWN}
    assert set(accepted_before_kill[FIRST_CHUNK:]) <= unknown
    assert len(unknown) <= BATCH - FIRST_CHUNK  # at most the one chunk in flight
    resent = set(outbox_row_ids())
    assert not resent & set(accepted_before_kill)  # nothing the worker handed over went out twice
    assert {pk for pk, s in statuses.items() if s == Status.SENT} == set(first_chunk) | resent
    assert set(ids) == set(statuses)

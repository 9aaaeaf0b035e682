"""ESP failures through a real anymail backend (Postmark's) against a local fake of its HTTP API."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from emails.dispatch import dispatch_batch, recover_expired_leases
from emails.models import ScheduledEmail
from emails.services import email_retry, sequence_enrol

from .conftest import free_port_closed
from .fake_esp import FakePostmark, point_anymail_at

pytestmark = pytest.mark.django_db
Status = ScheduledEmail.Status


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        yield fake


# 10:00 in New York (the leads' zone): the day-1 reminder falls due within the next 24 hours, so a dispatcher run a
# day later has something else to send, which shows that it ran and still left the failed row alone.
MORNING = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def steps_received(esp: FakePostmark) -> list[str]:
    """The sequence step of every request the fake ESP received, in order."""
    return [request["Metadata"]["step"] for request in esp.received]


def welcome_row(make_lead: Any) -> ScheduledEmail:
    lead = make_lead()
    sequence_enrol(lead=lead)
    return ScheduledEmail.objects.get(lead=lead, step="welcome")


def test_accepted_message_stores_the_esp_message_id_and_metadata(esp: FakePostmark, make_lead: Any) -> None:
    row = welcome_row(make_lead)
    dispatch_batch()
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.esp_message_id == esp.accepted[0]["MessageID"]
    sent = esp.accepted[0]
    assert sent["Metadata"] == {"lead_id": str(row.lead_id), "step": "welcome", "row_id": str(row.pk)}
    assert sent["Tag"] == "welcome"
    headers = {h["Name"]: h["Value"] for h in sent["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_with_backoff_then_sent(esp: FakePostmark, make_lead: Any, status: int) -> None:
    row = welcome_row(make_lead)
    esp.script.extend([(status, {"Message": "try later"}), (status, {"Message": "try later"})])
    before = timezone.now()
    dispatch_batch()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)
    assert str(status) in row.last_error
    first_delay = row.send_at - before
    assert timedelta(seconds=55) < first_delay < timedelta(seconds=70)

    dispatch_batch(now=row.send_at)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 2)
    assert row.send_at - timezone.now() > first_delay  # exponential: the second wait is longer

    dispatch_batch(now=row.send_at)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(esp.accepted) == 1 and len(esp.received) == 3


def test_client_error_fails_the_row_with_the_reason_and_admin_can_retry(esp: FakePostmark, make_lead: Any,
                                                                       clock: Any) -> None:
    clock(MORNING)
    row = welcome_row(make_lead)
    esp.script.append((400, {"ErrorCode": 300, "Message": "Invalid 'From' address: 'nope'."}))
    dispatch_batch()
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "400" in row.last_error and "Invalid 'From' address" in row.last_error
    dispatch_batch(now=timezone.now() + timedelta(days=1))
    assert steps_received(esp) == ["welcome", "day-1"]  # a failed row is never picked up again on its own

    assert email_retry(row_ids=[row.pk]) == 1
    dispatch_batch()
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_gives_up_after_max_attempts(esp: FakePostmark, make_lead: Any, settings: Any) -> None:
    settings.DRIP_MAX_ATTEMPTS = 2
    row = welcome_row(make_lead)
    esp.script.extend([(500, {}), (500, {})])
    dispatch_batch()
    row.refresh_from_db()
    dispatch_batch(now=row.send_at)
    row.refresh_from_db()
    assert row.status == Status.FAILED and "gave up after 2 attempts" in row.last_error


def test_connection_refused_is_retried(settings: Any, make_lead: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_SERVER_TOKEN": "t",
                        "POSTMARK_API_URL": f"http://127.0.0.1:{free_port_closed()}/"}
    row = welcome_row(make_lead)
    dispatch_batch()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 1)


def test_timeout_after_the_request_went_out_is_unknown_not_resent(esp: FakePostmark, make_lead: Any,
                                                                  clock: Any) -> None:
    clock(MORNING)
    row = welcome_row(make_lead)
    esp.script.append("hang")
    dispatch_batch()
    row.refresh_from_db()
    assert row.status == Status.UNKNOWN and "Timeout" in row.last_error
    dispatch_batch(now=timezone.now() + timedelta(days=1))
    assert steps_received(esp) == ["welcome", "day-1"]  # the welcome may have arrived: never sent a second time


def test_expired_lease_requeues_rows_never_handed_over_and_marks_the_others_unknown(make_lead: Any) -> None:
    lead = make_lead()
    sequence_enrol(lead=lead)
    now = timezone.now()
    handed, not_handed = ScheduledEmail.objects.filter(lead=lead).order_by("send_at")[:2]
    ScheduledEmail.objects.filter(pk__in=[handed.pk, not_handed.pk]).update(
        status=Status.SENDING, claimed_by="dead-worker", lease_until=now - timedelta(seconds=1))
    ScheduledEmail.objects.filter(pk=handed.pk).update(handed_at=now - timedelta(seconds=30))
    assert recover_expired_leases(now=now) == {"requeued": 1, "unknown": 1}
    handed.refresh_from_db()
    not_handed.refresh_from_db()
    assert handed.status == Status.UNKNOWN
    assert not_handed.status == Status.SCHEDULED and not_handed.claimed_by == ""


def test_a_dispatcher_that_lost_its_lease_stops_handing_over(make_lead: Any, settings: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """If a slow batch outlives its lease and another dispatcher recovers it, the first must stop sending."""
    from django.core import mail

    from emails import dispatch

    settings.DRIP_LEASE_SECONDS = 0  # every lease is already expired when the next chunk starts
    for _ in range(dispatch.FIRST_CHUNK * 2):
        sequence_enrol(lead=make_lead())
    original = dispatch._record_answers

    def send_then_recover(*args: Any) -> float:
        recover_expired_leases(now=timezone.now() + timedelta(seconds=1))  # another worker's recovery
        return original(*args)

    monkeypatch.setattr(dispatch, "_record_answers", send_then_recover)
    dispatch_batch(size=dispatch.FIRST_CHUNK * 2)
    assert len(mail.outbox) == dispatch.FIRST_CHUNK  # the first chunk only
    rows = ScheduledEmail.objects.filter(step="welcome")
    # What it sent before noticing is known, so it is recorded over the recovery's `unknown` (issue 12 D).
    assert rows.filter(status=Status.SENT).count() == dispatch.FIRST_CHUNK
    assert rows.filter(status=Status.SCHEDULED, handed_at__isnull=True).count() == dispatch.FIRST_CHUNK


def test_a_dead_connection_fails_fast_once_for_the_whole_batch(settings: Any, make_lead: Any) -> None:
    """Refused connections: the batch's one request fails once, not one timeout per email; all wait for a retry."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_SERVER_TOKEN": "t",
                        "POSTMARK_API_URL": f"http://127.0.0.1:{free_port_closed()}/"}
    for _ in range(5):
        sequence_enrol(lead=make_lead())
    outcomes = dispatch_batch()
    assert len(outcomes.retry) == 5 and not outcomes.unknown
    welcomes = ScheduledEmail.objects.filter(step="welcome")
    assert sorted(welcomes.values_list("attempts", flat=True)) == [1, 1, 1, 1, 1]
    assert set(welcomes.values_list("status", flat=True)) == {Status.SCHEDULED}
    assert all(r.send_at > timezone.now() and r.handed_at is None for r in welcomes)


def test_smtp_server_down_leaves_rows_scheduled_not_unknown(settings: Any, make_lead: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port_closed()
    for _ in range(3):
        sequence_enrol(lead=make_lead())
    dispatch_batch()
    welcomes = ScheduledEmail.objects.filter(step="welcome")
    assert set(welcomes.values_list("status", flat=True)) == {Status.SCHEDULED}
    assert all(r.send_at > timezone.now() and r.handed_at is None for r in welcomes)

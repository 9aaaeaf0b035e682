"""Enrolment and queueing (idempotent, broker-down safe), the timeline command and the admin tools."""

import subprocess
import sys
import textwrap
import threading
from io import StringIO
from socket import socket
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from emails.dispatch import dispatch_batch
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.services import email_queue, sequence_enrol
from tests.conftest import ROOT, database_url_for_subprocess

Status = ScheduledEmail.Status


@pytest.mark.django_db
def test_enrol_and_queue_are_idempotent(make_lead: Any, transactional_template: str) -> None:
    lead = make_lead()
    assert sequence_enrol(lead=lead) == 8
    assert sequence_enrol(lead=lead) == 0
    assert sorted(ScheduledEmail.objects.filter(lead=lead).values_list("step", flat=True)) == sorted(SEQUENCE_STEPS)
    first = email_queue(lead=lead, step="test-receipt", key="order-1", context={"purchase_id": 7})
    assert email_queue(lead=lead, step="test-receipt", key="order-1") == first
    second = email_queue(lead=lead, step="test-receipt", key="order-2")
    assert second != first and first.stream == "transactional" and first.context == {"purchase_id": 7}
    assert first.send_at <= second.send_at


@pytest.mark.postgres  # the child process must see the test database (SQLite's is in memory)
@pytest.mark.django_db(transaction=True)
def test_queueing_with_the_broker_down_commits_quickly_and_beat_sends_it_later(
        make_lead: Any, transactional_template: str, worker_env: dict[str, str]) -> None:
    """A broker that accepts connections but never answers (a frozen Redis) must not hold up a signup."""
    frozen = socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(16)
    held: list[Any] = []
    stop = threading.Event()

    def accept_and_ignore() -> None:
        frozen.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(frozen.accept()[0])
            except TimeoutError:
                continue

    acceptor = threading.Thread(target=accept_and_ignore, daemon=True)
    acceptor.start()
    lead = make_lead()
    script = textwrap.dedent(f"""
        import time, django
        django.setup()
        from emails.services import email_queue
        from leads.models import Lead
        lead = Lead.objects.get(pk={lead.pk})
        started = time.monotonic()
        for key in ("a", "b", "c"):
            email_queue(lead=lead, step="test-receipt", key=key)
        print("elapsed", time.monotonic() - started)
    """)
    env = {**worker_env, "DATABASE_URL": database_url_for_subprocess(),
           "REDIS_URL": f"redis://127.0.0.1:{frozen.getsockname()[1]}/0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    finally:
        stop.set()
        acceptor.join()
        frozen.close()
    assert done.returncode == 0, done.stderr
    elapsed = float(done.stdout.split()[-1])
    # One kick tries the frozen broker and times out; the next two are skipped during the back-off (the
    # connection count shows it). The time bound is a signup's patience, generous for a loaded CI machine.
    assert len(held) <= 1, f"{len(held)} connections to the frozen broker: kicks did not back off"
    assert elapsed < 3.0, f"queueing three emails took {elapsed:.2f}s with the broker frozen"
    assert "beat will catch up" in done.stderr
    assert ScheduledEmail.objects.filter(lead=lead, status=Status.SCHEDULED).count() == 3
    dispatch_batch()  # what beat does once the broker is back
    assert ScheduledEmail.objects.filter(lead=lead, status=Status.SENT).count() == 3


@pytest.mark.django_db
def test_drip_timeline_prints_the_schedule_and_outcomes(make_lead: Any) -> None:
    lead = make_lead(email="timeline@example.com", time_zone="Asia/Kathmandu")
    sequence_enrol(lead=lead)
    dispatch_batch()
    out = StringIO()
    call_command("drip_timeline", "TIMELINE@example.com", stdout=out)
    lines = out.getvalue().splitlines()
    assert "zone=Asia/Kathmandu" in lines[0]
    assert len(lines) == 9
    assert "welcome" in lines[1] and "sent at" in lines[1]
    assert "day-1" in lines[2] and "08:00 +0545" in lines[2] and "scheduled" in lines[2]


@pytest.fixture
def admin_client_logged_in(db: None) -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


@pytest.mark.django_db
def test_admin_previews_any_step_for_any_lead_and_sends_a_test(make_lead: Any, admin_client_logged_in: Client) -> None:
    lead = make_lead(first_name="Priya")
    url = reverse("admin:emails_preview")
    form = admin_client_logged_in.get(url)
    assert form.status_code == 200 and b'name="lead"' in form.content and b"day-7" in form.content
    html = admin_client_logged_in.get(url, {"lead": lead.pk, "step": "day-4", "part": "html"})
    assert html.status_code == 200 and b"Day 4 of 7" in html.content and b"Priya" in html.content
    text = admin_client_logged_in.get(url, {"lead": lead.pk, "step": "day-4", "part": "text"})
    assert text["Content-Type"].startswith("text/plain") and b"Subject: Day 4:" in text.content
    assert not ScheduledEmail.objects.exists()  # a preview queues nothing

    sent = admin_client_logged_in.post(url, {"lead": lead.pk, "step": "welcome", "send_to": "qa@example.com"})
    assert sent.status_code == 200
    assert [m.to for m in mail.outbox] == [["qa@example.com"]]
    assert mail.outbox[0].subject.startswith("[TEST] Welcome, Priya")

    assert Client().get(url, {"lead": lead.pk, "step": "day-4", "part": "html"}).status_code == 302  # login


@pytest.mark.django_db
def test_admin_retry_action_reschedules_failed_rows(make_lead: Any, admin_client_logged_in: Client) -> None:
    lead = make_lead()
    sequence_enrol(lead=lead)
    row = ScheduledEmail.objects.get(lead=lead, step="day-3")
    ScheduledEmail.objects.filter(pk=row.pk).update(status=Status.FAILED, last_error="400 bad", attempts=1)
    response = admin_client_logged_in.post(reverse("admin:emails_scheduledemail_changelist"),
                                           {"action": "retry_rows", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SCHEDULED, 0)
    changelist = admin_client_logged_in.get(reverse("admin:emails_scheduledemail_changelist"), {"status": "scheduled"})
    assert changelist.status_code == 200
    detail = admin_client_logged_in.get(reverse("admin:emails_scheduledemail_change", args=[row.pk]))
    assert detail.status_code == 200
    preview = admin_client_logged_in.get(reverse("admin:emails_preview_row", args=[row.pk]), {"part": "text"})
    assert b"Day 3 of 7" in preview.content


@pytest.mark.django_db
def test_dev_compressed_week(settings: Any) -> None:
    """`DRIP_DAY_SECONDS=60 make run`: a whole week in seven minutes (at the sequence's stored spacing)."""
    from datetime import UTC, datetime

    from emails.schedule import sequence_send_times

    settings.DRIP_DAY_SECONDS = 60
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert (sequence_send_times(welcome_at=start, time_zone="UTC")["day-7"] - start).total_seconds() == 420




@pytest.mark.parametrize(("fields", "marketing", "transactional"), [
    ({}, "", ""),
    ({"status": "unsubscribed"}, "unsubscribed", ""),
    ({"reminders_stopped_at": "2026-01-01T00:00Z"}, "reminders_stopped", ""),
    ({"suppression": "complaint"}, "complaint", ""),
    ({"suppression": "esp_unsubscribe"}, "esp_unsubscribe", ""),
    ({"suppression": "hard_bounce"}, "hard_bounce", "hard_bounce"),
    ({"status": "erased", "email": None}, "erased", "erased"),
])
def test_what_each_lead_state_stops(fields: dict[str, Any], marketing: str, transactional: str) -> None:
    from emails.dispatch import skip_reason_for
    from leads.models import Lead

    lead = Lead(**{"email": "x@example.com", "status": "subscribed", **fields})
    assert skip_reason_for(lead, ScheduledEmail(step="day-2", stream="marketing")) == marketing
    assert skip_reason_for(lead, ScheduledEmail(step="access", stream="transactional")) == transactional

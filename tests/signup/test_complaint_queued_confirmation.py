"""Issue 12 I, left over: a spam complaint must stop a confirmation email that was already queued.

The signup form refuses to queue confirmation mail for a mailbox that complained, but a row queued before the
complaint arrived (a second signup of the address, or the 24-hour reminder) went out anyway: the dispatcher's
re-check at send time let every transactional email through unless the address hard-bounced.
"""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent
from django.core import mail
from django.test import Client
from django.utils import timezone

from emails import dispatch
from emails.models import ScheduledEmail
from emails.tracking import email_event_record
from funnel.landing.services import confirm_reminders_queue
from leads.models import Lead
from tests.signup.conftest import form_data, unique_ip

pytestmark = [pytest.mark.django_db]
ADDRESS = "victim@example.com"


@pytest.fixture(autouse=True)
def _mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # records what the ESP would have accepted
    dispatch._seconds_per_message = None


def _signup() -> None:
    client = Client(REMOTE_ADDR=unique_ip(), HTTP_USER_AGENT="Mozilla/5.0 (complaint test)")
    assert client.post("/signup/", form_data(email=ADDRESS)).status_code == 302


def _complain_about(row: ScheduledEmail) -> None:
    """The owner pressed "spam" on that email: the ESP's complaint, as anymail's tracking receiver gets it."""
    email_event_record(esp_name="test", event=AnymailTrackingEvent(
        event_type="complained", event_id=f"complaint-{uuid.uuid4().hex}", message_id=row.esp_message_id,
        recipient=ADDRESS, metadata={"row_id": str(row.pk), "lead_id": str(row.lead_id)},
        timestamp=timezone.now()))


def _queue_second_signup() -> None:
    _signup()  # a stranger types the address again the next day: a new confirmation is queued


@pytest.mark.parametrize(("step", "queue_it"), [
    ("confirm", _queue_second_signup),
    ("confirm-reminder", lambda: confirm_reminders_queue()),  # the 24-hour reminder to confirm
])
def test_a_complaint_stops_a_confirmation_queued_before_it_arrived(step: str, queue_it: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _signup()
        dispatch.dispatch_batch()
        first = ScheduledEmail.objects.get(lead__email=ADDRESS, step="confirm")
        assert first.status == ScheduledEmail.Status.SENT and len(mail.outbox) == 1

        clock.shift(timedelta(hours=25))
        queue_it()
        queued = ScheduledEmail.objects.get(lead__email=ADDRESS, step=step, status=ScheduledEmail.Status.SCHEDULED)
        # The complaint about the first email comes in after the second was queued, before the dispatcher runs.
        _complain_about(first)
        assert Lead.objects.get(email=ADDRESS).suppression == Lead.Suppression.COMPLAINT

        dispatch.dispatch_batch()
    queued.refresh_from_db()
    assert (queued.status, queued.skip_reason) == (ScheduledEmail.Status.SKIPPED, "complaint")
    assert len(mail.outbox) == 1  # only the email they complained about ever reached them


def test_a_complaint_stops_the_confirmation_queued_for_another_spelling_of_the_mailbox(settings: Any) -> None:
    """Gmail reads v.i.c.t.i.m+news@gmail.com as victim@gmail.com: one person, one complaint, no more confirmations
    to that mailbox under any spelling, queued or not."""
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _signup_as("victim@gmail.com")
        dispatch.dispatch_batch()
        first = ScheduledEmail.objects.get(lead__email="victim@gmail.com", step="confirm")
        clock.shift(timedelta(hours=25))
        _signup_as("v.i.c.t.i.m+news@gmail.com")
        queued = ScheduledEmail.objects.get(lead__email="v.i.c.t.i.m+news@gmail.com", step="confirm")
        assert queued.status == ScheduledEmail.Status.SCHEDULED

        email_event_record(esp_name="test", event=AnymailTrackingEvent(
            event_type="complained", event_id=f"complaint-{uuid.uuid4().hex}", message_id=first.esp_message_id,
            recipient="victim@gmail.com", metadata={"row_id": str(first.pk), "lead_id": str(first.lead_id)},
            timestamp=timezone.now()))
        dispatch.dispatch_batch()
    queued.refresh_from_db()
    assert (queued.status, queued.skip_reason) == (ScheduledEmail.Status.SKIPPED, "complaint")
    assert [m.to for m in mail.outbox] == [["victim@gmail.com"]]


def _signup_as(address: str) -> None:
    client = Client(REMOTE_ADDR=unique_ip(), HTTP_USER_AGENT="Mozilla/5.0 (complaint test)")
    assert client.post("/signup/", form_data(email=address)).status_code == 302

"""Unsubscribed before confirming, then resubscribed from the preference page: the 7-day sequence still starts.

The page lives in `leads`, which cannot enrol (layers); `funnel`'s periodic reconciliation does it.
"""

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from emails import dispatch
from emails.models import SEQUENCE_STEPS, ScheduledEmail
from funnel.landing.services import signup_submit
from funnel.tasks import enrol_missing_sequences
from leads.models import Lead
from tests.privacy.conftest import preferences_path

pytestmark = [pytest.mark.django_db]


def _sign_up(email: str) -> Lead:
    signup_submit(email=email, first_name="Robin", time_zone="America/Chicago", ip_address="198.51.100.9",
                  user_agent="Mozilla/5.0 (privacy test)")
    return Lead.objects.get(email=email)


def _sequence(lead: Lead) -> list[str]:
    return sorted(ScheduledEmail.objects.filter(lead=lead, stream="marketing").values_list("step", flat=True))


def test_resubscribed_before_confirming_gets_the_sequence_once(client: Client) -> None:
    lead = _sign_up("robin@example.net")
    assert lead.status == Lead.Status.PENDING
    client.post(preferences_path(lead), {"action": "unsubscribe"})
    client.post(preferences_path(lead), {"action": "resubscribe"})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED and lead.confirmed_at is not None
    assert _sequence(lead) == []  # the gap this reconciliation closes

    assert enrol_missing_sequences() == 1
    assert _sequence(lead) == sorted(SEQUENCE_STEPS)
    assert enrol_missing_sequences() == 0  # idempotent: never a second sequence
    assert ScheduledEmail.objects.filter(lead=lead, stream="marketing").count() == len(SEQUENCE_STEPS)

    dispatch.dispatch_due()
    welcome = [m for m in mail.outbox if m.to == ["robin@example.net"] and "welcome" in getattr(m, "tags", [])]
    assert len(welcome) == 1, [(m.to, m.subject) for m in mail.outbox]


def test_only_subscribed_confirmed_leads_without_a_sequence_are_enrolled(client: Client) -> None:
    enrolled_already = _sign_up("already@example.net")
    client.post(preferences_path(enrolled_already), {"action": "unsubscribe"})
    client.post(preferences_path(enrolled_already), {"action": "resubscribe"})
    enrol_missing_sequences()
    rows_before = set(ScheduledEmail.objects.filter(lead=enrolled_already).values_list("pk", "send_at"))

    pending = _sign_up("pending@example.net")
    gone = _sign_up("gone@example.net")
    client.post(preferences_path(gone), {"action": "unsubscribe"})
    stopped = _sign_up("stopped@example.net")
    client.post(preferences_path(stopped), {"action": "unsubscribe"})
    client.post(preferences_path(stopped), {"action": "resubscribe"})
    client.post(preferences_path(stopped), {"action": "stop_reminders"})
    demo = Lead.objects.create(email="demo@example.net", status=Lead.Status.SUBSCRIBED, is_demo=True,
                               confirmed_at=pending.created_at)

    assert enrol_missing_sequences() == 0
    for lead in (pending, gone, stopped, demo):
        assert _sequence(lead) == [], lead.email
    assert set(ScheduledEmail.objects.filter(lead=enrolled_already).values_list("pk", "send_at")) == rows_before


def test_the_reconciliation_runs_on_a_schedule() -> None:
    schedule: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE
    [entry] = [e for e in schedule.values() if e["task"] == "funnel.tasks.enrol_missing_sequences"]
    assert entry["schedule"] <= 600  # a resubscribed reader's welcome waits for it


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_reconciliation(celery_worker_process: Any, worker_env: dict[str, str],
                                               client: Client) -> None:
    """What beat enqueues: the task through the Redis broker, in a real `celery worker` process."""
    lead = _sign_up("worker@example.net")
    client.post(preferences_path(lead), {"action": "unsubscribe"})
    client.post(preferences_path(lead), {"action": "resubscribe"})
    worker_env.update({"DRIP_KICK_ON_QUEUE": "false", "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})
    enrol_missing_sequences.app.control.purge()  # nothing left over from other tests runs in this worker
    celery_worker_process.start()
    result = enrol_missing_sequences.delay()
    assert result.get(timeout=60) == 1
    assert _sequence(lead) == sorted(SEQUENCE_STEPS)

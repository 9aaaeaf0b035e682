"""Unconfirmed leads: one reminder after 24 hours, gone after 30 days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emails.models import ScheduledEmail
from funnel.tasks import housekeeping
from leads.models import ConsentRecord, Lead
from leads.services import email_sha256, lead_signup
from tests.signup.conftest import make_lead

pytestmark = pytest.mark.django_db


def _ago(**delta: float) -> object:
    return timezone.now() - timedelta(**delta)


def test_one_reminder_after_24_hours_for_pending_leads_only() -> None:
    due = make_lead("due@example.com", Lead.Status.PENDING, created_at=_ago(hours=25))
    make_lead("fresh@example.com", Lead.Status.PENDING, created_at=_ago(hours=23))
    make_lead("confirmed@example.com", Lead.Status.SUBSCRIBED, created_at=_ago(hours=30))
    make_lead("gone@example.com", Lead.Status.UNSUBSCRIBED, created_at=_ago(hours=30))

    assert housekeeping() == {"reminded": 1, "purged": 0}
    assert housekeeping() == {"reminded": 0, "purged": 0}  # the one reminder, never a second
    row = ScheduledEmail.objects.get()
    assert (row.lead_id, row.step, row.stream) == (due.pk, "confirm-reminder", "transactional")
    due.refresh_from_db()
    assert due.confirm_reminder_sent_at is not None


def test_unconfirmed_leads_are_purged_after_30_days_but_counted_anonymously() -> None:
    stale, _ = lead_signup(email="stale@example.com", first_name="Stale", time_zone="Europe/Paris",
                           ip_address="203.0.113.9", user_agent="UA")
    Lead.objects.filter(pk=stale.pk).update(created_at=_ago(days=31), utm_source="fb",
                                             referrer="https://x.example/?q=stale@example.com")
    young = make_lead("young@example.com", Lead.Status.PENDING, created_at=_ago(days=29))
    loyal = make_lead("loyal@example.com", Lead.Status.SUBSCRIBED, created_at=_ago(days=90))

    assert housekeeping()["purged"] == 1
    stale.refresh_from_db()
    assert stale.email is None and stale.first_name == "" and stale.referrer == ""
    assert stale.status == Lead.Status.ERASED and stale.utm_source == "fb"
    consent = ConsentRecord.objects.get(lead=stale)
    assert consent.email_sha256 == email_sha256("stale@example.com")
    young.refresh_from_db()
    loyal.refresh_from_db()
    assert young.email == "young@example.com" and loyal.email == "loyal@example.com"
    assert not Lead.objects.filter(email="stale@example.com").exists()

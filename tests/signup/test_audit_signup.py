"""Reviewer's additions for the signup issue: double opt-in off sends the free guide at once; consent is append-only."""

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.rendering import render_email
from leads.models import ConsentRecord, Lead
from tests.signup.conftest import form_data

pytestmark = pytest.mark.django_db


def test_without_double_opt_in_the_free_guide_email_is_due_at_once(client: Client, settings: Any) -> None:
    settings.FUNNEL_DOUBLE_OPT_IN = False
    before = timezone.now()
    assert client.post("/signup/", form_data()).status_code == 302
    lead = Lead.objects.get()
    assert lead.status == Lead.Status.SUBSCRIBED
    assert not ScheduledEmail.objects.filter(lead=lead, step="confirm").exists()
    welcome = ScheduledEmail.objects.get(lead=lead, step="welcome")
    assert welcome.send_at <= timezone.now() and welcome.send_at >= before.replace(microsecond=0)
    # The welcome carries the free quick reference (through the click redirect to /guide/free/).
    rendered = render_email(lead, welcome)
    click = re.search(r"(/c/[^/\s]+/)", rendered.text)
    assert click, rendered.text
    follow = client.get(click.group(1))
    assert follow.status_code == 302 and follow["Location"].endswith("/guide/free/")


def test_consent_records_cannot_be_changed_or_deleted_through_the_orm(client: Client) -> None:
    client.post("/signup/", form_data())
    record = ConsentRecord.objects.get()
    record.consent_text = "I agreed to nothing"
    with pytest.raises(ValueError, match="append-only"):
        record.save()
    with pytest.raises(ValueError, match="append-only"):
        record.delete()
    assert ConsentRecord.objects.get().consent_text != "I agreed to nothing"

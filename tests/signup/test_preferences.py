"""The preference page: pause, stop, unsubscribe, resubscribe with a signed link; download and erase by asking for a
single-use link mailed at that moment."""

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from leads import tokens
from leads.models import ConsentRecord, Lead
from leads.privacy_link import privacy_token_make
from leads.services import email_sha256
from tests.signup.conftest import make_lead, unique_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead() -> Lead:
    return make_lead("prefs@example.com", confirmed_at=timezone.now())


def _path(lead: Lead, suffix: str = "") -> str:
    return f"/preferences/{tokens.sign('preferences', {'lead': lead.pk})}/{suffix}"


def test_page_shows_the_address_and_the_choices(client: Client, lead: Lead) -> None:
    html = client.get(_path(lead)).content.decode()
    assert "prefs@example.com" in html
    for label in ("Pause reminders for 3 days", "Stop the 7-day reminders", "Unsubscribe from everything",
                  "Download my data", "Erase my data"):
        assert label in html


def test_pause_for_three_days(client: Client, lead: Lead) -> None:
    response = client.post(_path(lead), {"action": "pause"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.paused_until is not None
    assert timedelta(days=2, hours=23) < lead.paused_until - timezone.now() <= timedelta(days=3)
    assert b"Paused." in client.get(response["Location"]).content


def test_stop_reminders_then_resubscribe(client: Client, lead: Lead) -> None:
    client.post(_path(lead), {"action": "stop_reminders"})
    lead.refresh_from_db()
    assert lead.reminders_stopped_at is not None and lead.status == Lead.Status.SUBSCRIBED
    client.post(_path(lead), {"action": "resubscribe"})
    lead.refresh_from_db()
    assert lead.reminders_stopped_at is None


def test_unsubscribe_then_resubscribe_is_recorded(client: Client, lead: Lead) -> None:
    client.post(_path(lead), {"action": "unsubscribe"})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED
    assert b"Turn my emails back on" in client.get(_path(lead)).content
    client.post(_path(lead), {"action": "resubscribe"})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED
    assert list(ConsentRecord.objects.filter(lead=lead).values_list("action", flat=True)) == [
        "unsubscribe", "resubscribe"]


def test_unknown_action_and_missing_csrf_are_refused(lead: Lead) -> None:
    assert Client(REMOTE_ADDR=unique_ip()).post(_path(lead), {"action": "delete-everyone"}).status_code == 400
    assert Client(enforce_csrf_checks=True).post(_path(lead), {"action": "unsubscribe"}).status_code == 403
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED


@pytest.mark.parametrize("make_token", [
    lambda lead: tokens.sign("preferences", {"lead": lead.pk})[:-2] + "xx",  # tampered
    lambda lead: tokens.sign("unsubscribe", {"lead": lead.pk}),  # another purpose
    lambda lead: tokens.sign("preferences", {"lead": lead.pk + 1000}),  # nobody
    lambda lead: tokens.sign("preferences", {"who": lead.pk}),  # wrong shape
    lambda lead: "garbage",
])
def test_bad_tokens_are_refused_everywhere(client: Client, lead: Lead, make_token: Any) -> None:
    token = make_token(lead)
    for path in (f"/preferences/{token}/", f"/preferences/{token}/export/", f"/preferences/{token}/erase/"):
        response = client.post(path, {"action": "unsubscribe", "confirm": "yes"})
        assert response.status_code == 400, path
        assert b"prefs@example.com" not in response.content
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED and lead.email == "prefs@example.com"


def test_expired_preferences_link_is_refused(client: Client, lead: Lead) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=181)):
        old = _path(lead)
    assert client.get(old).status_code == 400
    with time_machine.travel(timezone.now() - timedelta(days=170)):
        recent = _path(lead)
    assert client.get(recent).status_code == 200


def test_download_my_data_is_mailed_as_a_single_use_link(client: Client, lead: Lead) -> None:
    # The preferences link is in every email (anyone it was forwarded to has it): it asks, it never downloads.
    client.post(_path(lead), {"action": "pause"})
    response = client.post(_path(lead, "export/"))
    assert response.status_code == 200 and b"We sent you a link" in response.content
    assert "Content-Disposition" not in response and b"paused_until" not in response.content
    assert ScheduledEmail.objects.get(lead=lead, step="privacy-link").context == {"action": "export"}
    assert client.get(_path(lead, "export/")).status_code == 405  # never on a plain GET

    token = privacy_token_make(lead, "export")
    assert client.get(f"/privacy/{token}/export/").status_code == 200  # a scanner's fetch uses nothing up
    download = client.post(f"/privacy/{token}/export/")
    assert download["Content-Disposition"] == 'attachment; filename="pain-reset-my-data.json"'
    data = json.loads(download.content)
    assert data["lead"]["email"] == "prefs@example.com" and data["lead"]["paused_until"]


def test_erase_keeps_counts_and_hashed_consent_only(client: Client, lead: Lead) -> None:
    client.post(_path(lead), {"action": "unsubscribe"})
    asked = client.get(_path(lead, "erase/"))
    assert b"cannot be undone" in asked.content and b"Email me the erase link" in asked.content
    assert b"We sent you a link" in client.post(_path(lead, "erase/")).content
    lead.refresh_from_db()
    assert lead.email == "prefs@example.com"

    path = f"/privacy/{privacy_token_make(lead, 'erase')}/erase/"
    assert b"cannot be undone" in client.get(path).content
    refused = client.post(path, {})
    assert refused.status_code == 400 and b"Please tick the box" in refused.content
    lead.refresh_from_db()
    assert lead.email == "prefs@example.com"

    done = client.post(path, {"confirm": "yes"})
    assert done.status_code == 200 and b"Your data has been erased" in done.content
    lead.refresh_from_db()
    assert (lead.email, lead.first_name, lead.status) == (None, "", Lead.Status.ERASED)
    records = ConsentRecord.objects.filter(lead=lead)
    assert [r.action for r in records] == ["unsubscribe", "erase"]
    assert {r.email_sha256 for r in records} == {email_sha256("prefs@example.com")}
    assert b"erased" in client.get(_path(lead)).content
    export = client.post(_path(lead, "export/"))  # nothing left to download: the erased page, not JSON
    assert export["Content-Type"].startswith("text/html") and b"erased" in export.content
    # Someone may sign up again with the same address later: a new, unrelated lead.
    assert Lead.objects.filter(status=Lead.Status.ERASED).count() == 1

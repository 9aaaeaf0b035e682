"""ESP tracking events (stored once, suppress, reconcile unknown rows) and the signed click redirect."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client
from django.urls import reverse

from emails.dispatch import dispatch_batch
from emails.links import click_url
from emails.models import Click, EmailEvent, ScheduledEmail
from emails.services import sequence_enrol
from leads import tokens
from leads.models import Lead

pytestmark = pytest.mark.django_db
Status = ScheduledEmail.Status


def event(kind: str, row: ScheduledEmail, event_id: str, **extra: Any) -> AnymailTrackingEvent:
    fields: dict[str, Any] = {"message_id": row.esp_message_id or None,
                              "metadata": {"row_id": str(row.pk), "lead_id": str(row.lead_id)}, **extra}
    return AnymailTrackingEvent(event_type=kind, event_id=event_id, **fields)


def welcome(make_lead: Any, **fields: Any) -> ScheduledEmail:
    lead = make_lead(**fields)
    sequence_enrol(lead=lead)
    return ScheduledEmail.objects.get(lead=lead, step="welcome")


def test_events_are_stored_once_and_deferred_is_ignored(make_lead: Any) -> None:
    row = welcome(make_lead)
    dispatch_batch()
    row.refresh_from_db()
    for _ in range(2):  # the ESP retries its webhook
        tracking.send(sender=object, event=event("delivered", row, "e1"), esp_name="Test")
    tracking.send(sender=object, event=event("deferred", row, "e2"), esp_name="Test")
    assert list(EmailEvent.objects.values_list("event_type", "scheduled_email", "lead")) == [
        ("delivered", row.pk, row.lead_id)]


def test_event_without_metadata_is_linked_by_message_id(make_lead: Any) -> None:
    row = welcome(make_lead)
    dispatch_batch()
    row.refresh_from_db()
    tracking.send(sender=object, esp_name="Test", event=AnymailTrackingEvent(
        event_type="opened", event_id="o1", message_id=row.esp_message_id))
    assert EmailEvent.objects.get(event_id="o1").scheduled_email == row


@pytest.mark.parametrize(("kind", "suppression"), [("bounced", "hard_bounce"), ("complained", "complaint"),
                                                   ("unsubscribed", "esp_unsubscribe")])
def test_bounce_complaint_and_esp_unsubscribe_suppress_the_lead(make_lead: Any, kind: str, suppression: str) -> None:
    row = welcome(make_lead)
    dispatch_batch()
    tracking.send(sender=object, event=event(kind, row, f"x-{kind}"), esp_name="Test")
    assert Lead.objects.get(pk=row.lead_id).suppression == suppression


def test_unknown_row_is_reconciled_as_sent_from_an_event_carrying_its_row_id(make_lead: Any) -> None:
    row = welcome(make_lead)
    ScheduledEmail.objects.filter(pk=row.pk).update(status=Status.UNKNOWN)
    tracking.send(sender=object, event=event("delivered", row, "d1", message_id="esp-123"), esp_name="Test")
    row.refresh_from_db()
    assert (row.status, row.esp_message_id) == (Status.SENT, "esp-123")


def test_tracking_webhook_requires_the_basic_auth_secret(make_lead: Any, settings: Any) -> None:
    row = welcome(make_lead)
    ScheduledEmail.objects.filter(pk=row.pk).update(status=Status.UNKNOWN)
    payload = {"RecordType": "Delivery", "MessageID": "pm-1", "Recipient": "x@example.com", "Tag": "welcome",
               "DeliveredAt": "2026-03-05T14:00:01Z", "Details": "ok",
               "Metadata": {"row_id": str(row.pk), "lead_id": str(row.lead_id)}}
    url = "/anymail/postmark/tracking/"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"  # only the configured ESP's webhook exists
    client = Client()
    assert client.post(url, json.dumps(payload), content_type="application/json").status_code in (400, 401, 403)
    assert not EmailEvent.objects.exists()
    auth = "Basic " + base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    response = client.post(url, json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == Status.SENT and row.esp_message_id == "pm-1"


@pytest.mark.parametrize(("target", "url_name"), [("free_guide", "free-guide"), ("full_guide", "full-guide"),
                                                  ("app", "app")])
def test_click_redirect_records_the_row_and_goes_on(make_lead: Any, client: Client, target: str,
                                                    url_name: str) -> None:
    row = welcome(make_lead)
    response = client.get(urlparse(click_url(row=row, target=target)).path)
    assert response.status_code == 302 and response["Location"] == reverse(url_name)
    click = Click.objects.get()
    assert (click.lead_id, click.scheduled_email_id, click.target) == (row.lead_id, row.pk, target)


def test_upgrade_click_carries_the_row_into_the_upgrade_token(make_lead: Any, client: Client) -> None:
    row = welcome(make_lead)
    response = client.get(urlparse(click_url(row=row, target="upgrade")).path)
    location = response["Location"]
    prefix = reverse("upgrade", args=["X"]).rsplit("X", 1)[0]
    assert location.startswith(prefix)
    token = location[len(prefix):].rstrip("/")
    assert tokens.unsign("upgrade", token) == {"lead": row.lead_id, "email": row.pk}
    assert Click.objects.get().target == "upgrade"


def test_tampered_or_foreign_click_tokens_are_rejected(make_lead: Any, client: Client) -> None:
    row = welcome(make_lead)
    good = urlparse(click_url(row=row, target="app")).path
    assert client.get(good[:-3] + "xx/").status_code == 404
    other_purpose = tokens.sign("unsubscribe", {"row": row.pk, "lead": row.lead_id, "t": "app"})
    assert client.get(reverse("email-click", args=[other_purpose])).status_code == 404
    assert client.head(good).status_code == 302  # link scanners are redirected, recorded as a machine
    assert [c.machine for c in Click.objects.all()] == [Click.Machine.HEAD]


BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
SAFE_LINKS = "Mozilla/5.0 (compatible; Microsoft Office SafeLinks Protection)"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sent_welcome(make_lead: Any, clock: Any) -> ScheduledEmail:
    row = welcome(make_lead)
    ScheduledEmail.objects.filter(pk=row.pk).update(status=ScheduledEmail.Status.SENT, sent_at=clock.now)
    return row


def _open(client: Client, row: ScheduledEmail, target: str, *, agent: str = BROWSER, head: bool = False) -> int:
    path = urlparse(click_url(row=row, target=target)).path
    response = client.head(path, headers={"User-Agent": agent}) if head else client.get(
        path, headers={"User-Agent": agent})
    return response.status_code


@pytest.mark.parametrize(("agent", "head"), [(SAFE_LINKS, False), ("Barracuda Sentinel (EE)", False),
                                             ("Proofpoint URL Defense", False), ("Mimecast Link Scanner", False),
                                             ("Mozilla/5.0 (compatible; bingbot/2.0)", False), (BROWSER, True)])
def test_scanner_clicks_are_recorded_as_machine_and_not_credited(make_lead: Any, client: Client, clock: Any,
                                                                 agent: str, head: bool) -> None:
    clock = clock(START)
    row = _sent_welcome(make_lead, clock)
    clock.advance(timedelta(hours=2))  # long after delivery: only the request itself gives the scanner away
    assert _open(client, row, "upgrade", agent=agent, head=head) == 302
    [click] = Click.objects.all()
    assert click.machine != Click.Machine.HUMAN


def test_a_click_seconds_after_delivery_is_a_scanner_and_a_later_one_a_reader(make_lead: Any, client: Client,
                                                                               clock: Any) -> None:
    clock = clock(START)
    row = _sent_welcome(make_lead, clock)
    clock.advance(timedelta(seconds=3))
    _open(client, row, "upgrade")
    clock.advance(timedelta(minutes=20))
    _open(client, row, "upgrade")
    assert [c.machine for c in Click.objects.order_by("pk")] == [Click.Machine.EARLY, Click.Machine.HUMAN]


def test_every_link_of_one_email_within_a_second_is_a_scanner(make_lead: Any, client: Client, clock: Any) -> None:
    clock = clock(START)
    row = _sent_welcome(make_lead, clock)
    clock.advance(timedelta(hours=1))
    _open(client, row, "upgrade")
    clock.advance(timedelta(milliseconds=400))
    _open(client, row, "free_guide")
    clock.advance(timedelta(milliseconds=400))
    _open(client, row, "app")
    assert {c.machine for c in Click.objects.all()} == {Click.Machine.BURST}
    clock.advance(timedelta(minutes=5))
    _open(client, row, "upgrade")  # the reader, later
    assert Click.objects.order_by("-pk")[0].machine == Click.Machine.HUMAN

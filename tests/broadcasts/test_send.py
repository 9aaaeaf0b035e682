"""A sender builds a segment, writes a broadcast in the editor, sends it through the admin, and the real dispatcher
delivers it: exactly the segment's mailable readers get it, once; the report counts what happened."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail
from django.utils import timezone

from emails.broadcasts.models import Broadcast
from emails.models import Click, ScheduledEmail
from emails.services import click_record
from funnel.models import Purchase
from leads.models import Lead
from leads.services import lead_make_customer, lead_unsubscribe
from tests.drip.conftest import run_dispatcher, sent_to, walk

from .conftest import broadcast_through_admin, segment_through_admin, send, shown_count

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
BODY = """Hello{{ if first_name }}, {{ first_name }}{{ end }}.

{{ if buyer }}
Thank you for buying the full guide.
{{ else }}
The price of the full guide changes on Friday.

[Get the full guide for $9.97](link:upgrade){.button}
{{ end }}
"""
DID_NOT_BUY_CLICKED_14 = [{"kind": "purchase", "option": "not_bought"}, {"kind": "clicked_within", "number": "14"}]


def clicked(lead: Lead, days_ago: float) -> None:
    Click.objects.create(lead=lead, target=Click.Target.FREE_GUIDE,
                         created_at=timezone.now() - timedelta(days=days_ago))


def esp_event(row: ScheduledEmail, kind: str) -> None:
    tracking.send(sender=object, esp_name="Test", event=AnymailTrackingEvent(
        event_type=kind, event_id=f"evt-{kind}-{row.pk}", message_id=row.esp_message_id,
        metadata={"row_id": str(row.pk), "lead_id": str(row.lead_id)}, recipient=row.lead.email))


def report(client: Any, broadcast: Broadcast) -> dict[str, Any]:
    response = client.get(f"/admin/dashboard/broadcasts/{broadcast.pk}/")
    assert response.status_code == 200
    (cell,) = response.context["rows"]
    return cell


def test_exactly_the_segments_mailable_readers_get_it_once_and_the_report_counts_what_happened(  # type: ignore[no-untyped-def]
        clock, make_lead, sender) -> None:
    c = clock(START)
    ann, ben, cat, late = (make_lead(first_name=name) for name in ("Ann", "Ben", "Cat", "Late"))
    buyer = make_lead(is_customer=True, customer_since=START - timedelta(days=3))
    unsubscribed = make_lead(status=Lead.Status.UNSUBSCRIBED, unsubscribed_at=START - timedelta(days=1))
    suppressed = make_lead(suppression=Lead.Suppression.COMPLAINT)
    paused = make_lead(paused_until=START + timedelta(days=5))
    clicked_long_ago, never_clicked = make_lead(), make_lead()
    for lead in (ann, ben, cat, late, buyer, unsubscribed, suppressed, paused):
        clicked(lead, days_ago=3)
    clicked(clicked_long_ago, days_ago=20)

    segment = segment_through_admin(sender, "Did not buy, clicked in the last 14 days", DID_NOT_BUY_CLICKED_14)
    broadcast = broadcast_through_admin(sender, "Price change", segment, subject="The price changes on Friday",
                                        body=BODY)
    # Unsubscribed and suppressed readers are not recipients; the paused one is, and is skipped at send time.
    assert shown_count(sender, broadcast) == 5
    lead_unsubscribe(lead=late)  # after the count was shown: the send is refused and shows the new count
    response = send(sender, broadcast, 5)
    assert response.status_code == 409 and not ScheduledEmail.objects.filter(step=broadcast.step).exists()
    assert shown_count(sender, broadcast) == 4
    assert send(sender, broadcast, 4).status_code == 302

    run_dispatcher()
    run_dispatcher()  # a second pass sends nothing again
    received = sorted(m.to[0] for m in mail.outbox)
    assert received == sorted(lead.email for lead in (ann, ben, cat))
    message = sent_to(ann)[0]
    assert message.subject == "The price changes on Friday" and message.tags == [broadcast.step]
    assert "changes on Friday" in message.body and "Thank you for buying" not in message.body
    assert "not medical advice" in message.body and "Unsubscribe:" in message.body
    assert message.extra_headers["List-Unsubscribe"]
    paused_row = ScheduledEmail.objects.get(step=broadcast.step, lead=paused)
    assert (paused_row.status, paused_row.skip_reason) == (ScheduledEmail.Status.SKIPPED, "paused")
    assert not ScheduledEmail.objects.filter(step=broadcast.step, lead__in=[
        buyer, unsubscribed, suppressed, clicked_long_ago, never_clicked, late]).exists()

    # What the readers do next: Ann clicks the upgrade link and buys through it; Ben's address bounces; Cat
    # complains and unsubscribes with our link.
    c.advance(timedelta(hours=1))
    rows = {row.lead_id: row for row in ScheduledEmail.objects.filter(step=broadcast.step).select_related("lead")}
    ann_row = rows[ann.pk]
    click = click_record(lead_id=ann.pk, row_id=ann_row.pk, target=Click.Target.UPGRADE,
                         user_agent="Mozilla/5.0 (Macintosh) Safari/605")
    assert click is not None and click.machine == Click.Machine.HUMAN
    Purchase.objects.create(stripe_session_id="cs_test_broadcast", lead=ann, scheduled_email=ann_row,
                            amount_cents=997, currency="usd")
    lead_make_customer(lead=ann)
    esp_event(rows[ben.pk], "bounced")
    esp_event(rows[cat.pk], "complained")
    lead_unsubscribe(lead=cat)

    cell = report(sender, broadcast)
    row = cell["row"]
    assert (row.recipients, row.sent, row.bounces, row.complaints, row.unsubscribes) == (4, 3, 1, 1, 1)
    assert (row.clicked, row.upgrade_clicks, row.purchases, row.net_cents) == (1, 1, 1, 997)
    assert row.net_cents_per_recipient == pytest.approx(997 / 3)
    assert cell["net"] == "$9.97" and cell["per_recipient"] == "$3.32"
    # The dashboard lists it with the same columns.
    dashboard = sender.get("/admin/dashboard/")
    assert [c["row"].sent for c in dashboard.context["broadcasts"]] == [3]


def test_a_local_hour_reaches_berlin_and_new_york_at_their_own_0900_and_if_buyer_works(  # type: ignore[no-untyped-def]
        clock, make_lead, sender) -> None:
    c = clock(START)
    berlin = make_lead(time_zone="Europe/Berlin", is_customer=True, customer_since=START)
    new_york = make_lead(time_zone="America/New_York")
    segment = segment_through_admin(sender, "Everyone subscribed", [{"kind": "status", "option": "subscribed"}])
    broadcast = broadcast_through_admin(sender, "Morning note", segment, subject="A note", body=BODY)
    count = shown_count(sender, broadcast)
    assert send(sender, broadcast, count, timing="local", local_date="2026-06-03", local_hour=9).status_code == 302

    walk(c, until=START + timedelta(days=3), step=timedelta(minutes=30))

    for lead, zone in ((berlin, "Europe/Berlin"), (new_york, "America/New_York")):
        row = ScheduledEmail.objects.get(step=broadcast.step, lead=lead)
        assert row.sent_at is not None
        local = row.sent_at.astimezone(ZoneInfo(zone))
        assert (local.date(), local.hour, local.minute) == (date(2026, 6, 3), 9, 0), zone
    assert "Thank you for buying" in sent_to(berlin)[0].body and "$9.97" not in sent_to(berlin)[0].body
    assert "changes on Friday" in sent_to(new_york)[0].body
    broadcast.refresh_from_db()
    assert broadcast.starts_at == datetime(2026, 6, 3, 7, 0, tzinfo=UTC)  # Berlin's 09:00 comes first


def test_a_cancelled_broadcast_sends_nothing_and_cannot_be_cancelled_once_started(  # type: ignore[no-untyped-def]
        clock, make_lead, sender) -> None:
    c = clock(START)
    readers = [make_lead() for _ in range(3)]
    segment = segment_through_admin(sender, "Everyone subscribed", [{"kind": "status", "option": "subscribed"}])
    cancelled = broadcast_through_admin(sender, "Cancelled one", segment, subject="Never", body=BODY)
    sent = broadcast_through_admin(sender, "Sent one", segment, subject="Sent", body=BODY)
    at = (START + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    for broadcast in (cancelled, sent):
        assert send(sender, broadcast, 3, timing="at", at=at).status_code == 302

    response = sender.post(f"/admin/emails/broadcast/{cancelled.pk}/cancel/")
    assert response.status_code == 302
    walk(c, until=START + timedelta(hours=4), step=timedelta(minutes=15))

    assert {m.subject for m in mail.outbox} == {"Sent"} and len(mail.outbox) == len(readers)
    rows = ScheduledEmail.objects.filter(step=cancelled.step)
    assert {(r.status, r.skip_reason) for r in rows} == {(ScheduledEmail.Status.SKIPPED, "cancelled")}
    cancelled.refresh_from_db()
    assert cancelled.status == Broadcast.Status.CANCELLED
    # The other one has started: cancelling it is refused and changes nothing.
    sender.post(f"/admin/emails/broadcast/{sent.pk}/cancel/")
    sent.refresh_from_db()
    assert sent.status == Broadcast.Status.SCHEDULED and sent.state() == "started"

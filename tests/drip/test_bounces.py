"""Issue 12 C: hard and soft bounces by the ESP's own semantics, at the webhook boundary.

Mail goes out through anymail's real Postmark backend to the fake Postmark API; bounces and deliveries come back
as Postmark's webhook payloads posted to our tracking URL, exactly as Postmark would send them.
"""

import base64
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailersend import MailerSendTrackingWebhookView
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from emails.services import email_queue, sequence_enrol
from leads.models import Lead, SuppressionChange
from leads.services import lead_erase
from tests.signup.conftest import form_data, unique_ip

from .fake_esp import FakePostmark, point_anymail_at

pytestmark = [pytest.mark.django_db]
Status = ScheduledEmail.Status
# A Tuesday morning in New York; every test moves on from here by whole days.
START = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
_bounce_ids = itertools.count(4_323_372_036_854_775_000)
POSTMARK_TYPE_CODES = {"HardBounce": 1, "Transient": 2, "DnsError": 256, "SoftBounce": 4096}


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        yield fake


@pytest.fixture(autouse=True)
def _window(settings: Any) -> None:
    settings.DRIP_SOFT_BOUNCE_LIMIT = 3
    settings.DRIP_SOFT_BOUNCE_WINDOW_DAYS = 14


def post_webhook(settings: Any, payload: dict[str, Any]) -> None:
    auth = "Basic " + base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    response = Client().post("/anymail/postmark/tracking/", json.dumps(payload), content_type="application/json",
                             HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content


def bounce(settings: Any, sent: dict[str, Any], kind: str, at: datetime) -> None:
    """Postmark's bounce webhook for a message the fake accepted (fields as in Postmark's webhook docs)."""
    post_webhook(settings, {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": next(_bounce_ids), "Type": kind,
        "TypeCode": POSTMARK_TYPE_CODES[kind], "Name": kind, "Tag": sent.get("Tag", ""),
        "MessageID": sent["MessageID"], "Metadata": sent["Metadata"], "ServerID": 23,
        "Description": "The server was unable to deliver your message" if kind == "HardBounce"
        else "Unable to temporarily deliver this email (mailbox full)",
        "Details": "smtp;552 5.2.2 mailbox full", "Email": sent["To"], "From": sent["From"],
        "BouncedAt": at.isoformat().replace("+00:00", "Z"), "DumpAvailable": False,
        "Inactive": kind == "HardBounce", "CanActivate": True, "Subject": sent["Subject"]})


def delivered(settings: Any, sent: dict[str, Any], at: datetime) -> None:
    post_webhook(settings, {
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": sent["MessageID"],
        "Recipient": sent["To"], "Tag": sent.get("Tag", ""), "DeliveredAt": at.isoformat().replace("+00:00", "Z"),
        "Details": "smtp;250 2.0.0 OK", "Metadata": sent["Metadata"]})


def send_receipt(esp: FakePostmark, lead: Lead, template: str) -> dict[str, Any]:
    """A transactional email (a receipt), sent now; returns what Postmark accepted."""
    row = email_queue(lead=lead, step=template, key=f"r{ScheduledEmail.objects.count()}")
    dispatch_batch()
    row.refresh_from_db()
    assert row.status == Status.SENT
    return esp.accepted[-1]


def suppression(lead: Lead) -> str:
    lead.refresh_from_db()
    return lead.suppression


def what_goes_out(esp: FakePostmark, lead: Lead, template: str) -> dict[str, str]:
    """Queue a marketing and a transactional email now and run the dispatcher: what happened to each."""
    sequence_enrol(lead=lead)  # the welcome, due now
    receipt = email_queue(lead=lead, step=template, key="after")
    dispatch_batch()
    welcome = ScheduledEmail.objects.get(lead=lead, step="welcome")
    receipt.refresh_from_db()
    return {"marketing": welcome.skip_reason or welcome.status, "transactional": receipt.skip_reason or receipt.status}


@pytest.mark.parametrize("kind", ["SoftBounce", "Transient", "DnsError"])
def test_one_soft_bounce_is_recorded_but_suppresses_nothing(esp: FakePostmark, make_lead: Any, settings: Any,
                                                           clock: Any, transactional_template: str,
                                                           kind: str) -> None:
    clock(START)
    lead = make_lead()
    bounce(settings, send_receipt(esp, lead, transactional_template), kind, START)
    assert suppression(lead) == ""
    assert lead.email_events.get().bounce == "soft"  # kept for the count, and shown in the timeline
    assert what_goes_out(esp, lead, transactional_template) == {"marketing": "sent", "transactional": "sent"}


def test_soft_bounces_in_a_row_stop_marketing_mail_but_sign_in_links_and_receipts_still_go(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str) -> None:
    c = clock(START)
    lead = make_lead()
    for day in range(3):
        sent = send_receipt(esp, lead, transactional_template)
        bounce(settings, sent, "SoftBounce", c.now)
        assert suppression(lead) == ("soft_bounce" if day == 2 else "")
        c.advance(timedelta(days=1))
    assert what_goes_out(esp, lead, transactional_template) == {"marketing": "soft_bounce",
                                                                 "transactional": "sent"}
    assert SuppressionChange.objects.get(lead=lead).reason.startswith("3 soft bounces in a row within 14 days")


def test_a_delivery_resets_the_soft_bounce_count(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any,
                                                transactional_template: str) -> None:
    c = clock(START)
    lead = make_lead()
    for outcome in ["SoftBounce", "SoftBounce", "Delivery", "SoftBounce", "SoftBounce"]:
        sent = send_receipt(esp, lead, transactional_template)
        if outcome == "Delivery":
            delivered(settings, sent, c.now)
        else:
            bounce(settings, sent, outcome, c.now)
        c.advance(timedelta(days=1))
    assert suppression(lead) == ""  # two, a delivery, two: never three in a row
    bounce(settings, send_receipt(esp, lead, transactional_template), "SoftBounce", c.now)
    assert suppression(lead) == "soft_bounce"


def test_soft_bounces_further_apart_than_the_window_do_not_add_up(esp: FakePostmark, make_lead: Any, settings: Any,
                                                                 clock: Any, transactional_template: str) -> None:
    c = clock(START)
    lead = make_lead()
    for gap in [0, 10, 10]:  # day 0, 10, 20: the three span 20 days
        c.advance(timedelta(days=gap))
        bounce(settings, send_receipt(esp, lead, transactional_template), "SoftBounce", c.now)
    assert suppression(lead) == ""
    c.advance(timedelta(days=1))  # day 21: the last three (10, 20, 21) fall within 14 days
    bounce(settings, send_receipt(esp, lead, transactional_template), "SoftBounce", c.now)
    assert suppression(lead) == "soft_bounce"


def test_one_hard_bounce_stops_every_email(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any,
                                           transactional_template: str) -> None:
    clock(START)
    lead = make_lead()
    bounce(settings, send_receipt(esp, lead, transactional_template), "HardBounce", START)
    assert suppression(lead) == "hard_bounce"
    assert what_goes_out(esp, lead, transactional_template) == {"marketing": "hard_bounce",
                                                                 "transactional": "hard_bounce"}


# Other ESPs through anymail's own parsers, with payloads shaped as each ESP documents them.
def _mandrill(kind: str) -> AnymailTrackingEvent:
    return MandrillCombinedWebhookView().esp_to_anymail_event(
        {"event": kind, "_id": "m1", "ts": 1_800_000_000, "msg": {"email": "x@example.com", "metadata": {}}})


def _brevo(kind: str) -> AnymailTrackingEvent:
    return BrevoTrackingWebhookView().esp_to_anymail_event(
        {"event": kind, "email": "x@example.com", "message-id": "<b1@example>", "ts_epoch": 1_800_000_000_000})


def _mailersend(kind: str) -> AnymailTrackingEvent:
    view = MailerSendTrackingWebhookView(signing_secret="test")
    return view.esp_to_anymail_event({"type": f"activity.{kind}", "data": {
        "id": "ms1", "type": kind, "created_at": "2027-03-02T15:00:00Z",
        "email": {"message": {"id": "m1"}, "recipient": {"email": "x@example.com"}},
        "morph": {"object": "recipient_bounce", "reason": "mailbox full"}}})


def _sparkpost(bounce_class: str) -> AnymailTrackingEvent:
    event = {"type": "bounce", "bounce_class": bounce_class, "event_id": "sp1", "transmission_id": "t1",
             "raw_rcpt_to": "x@example.com", "timestamp": "1800000000"}
    return SparkPostTrackingWebhookView().esp_to_anymail_event("message_event", event,
                                                               {"msys": {"message_event": event}})


def _amazon_ses(bounce_type: str) -> AnymailTrackingEvent:
    # anymail's SES view needs boto3 (not installed); its event carries the SES notification as esp_event.
    return AnymailTrackingEvent(event_type="bounced", reject_reason="bounced", event_id="ses1", message_id="s1",
                                esp_event={"eventType": "Bounce", "bounce": {"bounceType": bounce_type,
                                                                              "bounceSubType": "General"}})


@pytest.mark.parametrize(("esp_name", "event", "expected"), [
    ("Mandrill", lambda: _mandrill("hard_bounce"), "hard_bounce"),
    ("Mandrill", lambda: _mandrill("soft_bounce"), ""),
    ("Brevo", lambda: _brevo("hard_bounce"), "hard_bounce"),
    ("Brevo", lambda: _brevo("soft_bounce"), ""),
    ("MailerSend", lambda: _mailersend("hard_bounced"), "hard_bounce"),
    ("MailerSend", lambda: _mailersend("soft_bounced"), ""),
    ("SparkPost", lambda: _sparkpost("10"), "hard_bounce"),  # invalid recipient
    ("SparkPost", lambda: _sparkpost("22"), ""),  # mailbox full
    ("Amazon SES", lambda: _amazon_ses("Permanent"), "hard_bounce"),
    ("Amazon SES", lambda: _amazon_ses("Transient"), ""),
    # Any ESP, from anymail's normalised reject_reason alone: the ESP gave up after retrying is not the address.
    ("Other", lambda: AnymailTrackingEvent(event_type="bounced", reject_reason="timed_out", event_id="o1"), ""),
    ("Other", lambda: AnymailTrackingEvent(event_type="bounced", reject_reason="bounced", event_id="o2"),
     "hard_bounce"),
])
def test_other_esps_bounces_are_hard_or_soft_by_their_own_semantics(make_lead: Any, esp_name: str, event: Any,
                                                                    expected: str) -> None:
    lead = make_lead()
    parsed = event()
    parsed.metadata = {"lead_id": str(lead.pk)}
    tracking.send(sender=object, event=parsed, esp_name=esp_name)
    assert suppression(lead) == expected


# --- Lifting a suppression ---------------------------------------------------------------------------------------

def soft_bounced_lead(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, template: str,
                      **fields: Any) -> tuple[Lead, Any]:
    c = clock(START)
    lead = make_lead(**fields)
    for _ in range(3):
        bounce(settings, send_receipt(esp, lead, template), "SoftBounce", c.now)
        c.advance(timedelta(days=1))
    assert suppression(lead) == "soft_bounce"
    return lead, c


def staff_client(*, superuser: bool) -> Client:
    client = Client()
    if superuser:
        client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
        return client
    call_command("setup_marketing_group", verbosity=0)
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    client.force_login(user)
    return client


def lift(client: Client, lead: Lead, **extra: str) -> Any:
    return client.post(reverse("admin:leads_lead_changelist"),
                       {"action": "lift_suppression", "_selected_action": [lead.pk], **extra})


def test_staff_lift_a_suppression_with_a_reason_recorded_in_the_timeline(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str) -> None:
    lead, c = soft_bounced_lead(esp, make_lead, settings, clock, transactional_template)
    boss = staff_client(superuser=True)
    asked = lift(boss, lead)
    assert asked.status_code == 200 and b"Reason (required)" in asked.content
    no_reason = lift(boss, lead, confirmed="yes", reason="   ")
    assert b"Please give a reason." in no_reason.content
    assert suppression(lead) == "soft_bounce"

    done = lift(boss, lead, confirmed="yes", reason="Reader phoned: mailbox cleared out")
    assert done.status_code == 302
    assert suppression(lead) == ""
    page = boss.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "Suppression lifted (Repeated soft bounces)" in page
    assert "by boss" in page and "reason: Reader phoned: mailbox cleared out" in page
    assert "Suppressed: Repeated soft bounces" in page
    assert what_goes_out(esp, lead, transactional_template)["marketing"] == "sent"

    # The bounces before the lift no longer count: one more is one, not four.
    bounce(settings, send_receipt(esp, lead, transactional_template), "SoftBounce", c.now)
    assert suppression(lead) == ""


def test_a_view_only_marketing_user_cannot_lift_a_suppression(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str) -> None:
    lead, _ = soft_bounced_lead(esp, make_lead, settings, clock, transactional_template)
    marketer = staff_client(superuser=False)
    assert marketer.get(reverse("admin:leads_lead_changelist")).status_code == 200  # they may look
    for attempt in ({}, {"confirmed": "yes", "reason": "let me"}):
        response = lift(marketer, lead, **attempt)
        assert b"Reason (required)" not in response.content
    assert suppression(lead) == "soft_bounce"
    assert not SuppressionChange.objects.filter(action="lifted").exists()


def test_confirming_the_address_again_lifts_a_soft_bounce_suppression(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str) -> None:
    settings.TRUSTED_PROXY_IP_HEADER = ""
    lead, _ = soft_bounced_lead(esp, make_lead, settings, clock, transactional_template,
                                email="full.mailbox@example.com")
    reader = Client(REMOTE_ADDR=unique_ip())
    assert reader.post("/signup/", form_data(email="full.mailbox@example.com")).status_code == 302
    dispatch_batch()
    confirmation = esp.accepted[-1]
    assert confirmation["To"] == "full.mailbox@example.com" and "Confirm" in confirmation["Subject"]
    match = re.search(r"https?://[^/\s]+(/confirm/[^/\s]+/)", confirmation["TextBody"])
    assert match, confirmation["TextBody"]
    assert reader.get(match.group(1)).status_code == 200  # a link scanner's GET lifts nothing
    assert suppression(lead) == "soft_bounce"

    assert reader.post(match.group(1)).status_code == 302
    assert suppression(lead) == ""
    change = SuppressionChange.objects.get(lead=lead, action="lifted")
    assert (change.by, change.suppression) == ("", "soft_bounce")
    assert what_goes_out(esp, lead, transactional_template)["marketing"] == "sent"
    # The link is used up; a second click opens the guide as for any confirmation.
    again = reader.post(match.group(1))
    assert again.status_code == 302 and again["Location"].startswith("/guide/free/")


def test_confirming_again_does_not_lift_a_hard_bounce(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any,
                                                      transactional_template: str) -> None:
    clock(START)
    lead = make_lead(email="gone@example.com")
    bounce(settings, send_receipt(esp, lead, transactional_template), "HardBounce", START)
    Client(REMOTE_ADDR=unique_ip()).post("/signup/", form_data(email="gone@example.com"))
    dispatch_batch()
    assert suppression(lead) == "hard_bounce"
    assert [m["To"] for m in esp.accepted][1:] == []  # no confirmation mail to an address that is gone


def test_erasure_removes_a_staff_reason_but_keeps_that_a_suppression_was_lifted(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str) -> None:
    lead, _ = soft_bounced_lead(esp, make_lead, settings, clock, transactional_template, first_name="Ann")
    lift(staff_client(superuser=True), lead, confirmed="yes", reason="Ann phoned: inbox cleared")
    lead_erase(lead=lead)
    lifted = SuppressionChange.objects.get(lead=lead, action="lifted")
    assert (lifted.by, lifted.reason) == ("boss", "[erased]")
    assert "Ann" not in " ".join(SuppressionChange.objects.filter(lead=lead).values_list("reason", flat=True))

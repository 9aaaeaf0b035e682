"""People with a full history in every area (mail, bounces, clicks, checkout, Stripe events, app sessions).

History is made through the real services where one exists (signup, confirmation, the dispatcher, the ESP
tracking receiver, click recording, storing a Stripe event); rows Stripe's webhook would create are written
directly, with payloads shaped like Stripe's own fixtures.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from emails import dispatch
from emails.models import ScheduledEmail
from emails.rendering import render_email
from emails.services import click_record
from emails.tracking import email_event_record
from funnel.checkout.events import stripe_event_record
from funnel.landing.services import signup_confirm, signup_submit
from funnel.models import CheckoutSession, PracticeSession, Purchase, SignInLinkUse
from leads import tokens
from leads.models import Lead
from tests.checkout.fake_stripe import fixture


@pytest.fixture(autouse=True)
def _privacy_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.FUNNEL_DOUBLE_OPT_IN = True
    settings.DRIP_KICK_ON_QUEUE = False  # the tests run the dispatcher themselves
    dispatch._seconds_per_message = None


@dataclass
class Person:
    lead: Lead
    email: str
    first_name: str
    bounce_text: str
    session_id: str
    payment_intent: str


def _stripe_event(event_id: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    event = fixture("event")
    event.update(id=event_id, type=event_type, created=int(timezone.now().timestamp()), data={"object": obj})
    return event


def make_person(*, email: str, first_name: str, bounce_text: str, tag: str) -> Person:
    signup_submit(email=email, first_name=first_name, time_zone="Europe/Berlin", ip_address="198.51.100.7",
                  user_agent="Mozilla/5.0 (privacy test)")
    lead = Lead.objects.get(email=email)
    signup_confirm(lead=lead, ip_address="198.51.100.7", user_agent="Mozilla/5.0 (privacy test)")
    dispatch.dispatch_due()  # the confirmation and the welcome go out now; day 1..7 stay scheduled
    welcome = ScheduledEmail.objects.get(lead=lead, step="welcome")
    assert welcome.status == ScheduledEmail.Status.SENT
    click_record(lead_id=lead.pk, row_id=welcome.pk, target="upgrade")
    # No ESP event id: the stored id is made from the message id … and the recipient's address.
    email_event_record(esp_name="test", event=AnymailTrackingEvent(
        event_type="bounced", message_id=welcome.esp_message_id, recipient=email, description=bounce_text,
        timestamp=timezone.now()))
    # An event we cannot tie to any row that still quotes the address (an ESP without our metadata).
    email_event_record(esp_name="test", event=AnymailTrackingEvent(
        event_type="rejected", event_id=f"orphan-{tag}", message_id=f"unknown-{tag}", recipient=email,
        description=f"Address {email} is on the suppression list", timestamp=timezone.now()))

    session_id, intent = f"cs_test_{tag}", f"pi_test_{tag}"
    full_name = f"{first_name} Quill"
    session = fixture("checkout.session")
    session.update(id=session_id, customer_email=email, payment_intent=intent, amount_total=997, currency="usd",
                   metadata={"lead": str(lead.pk)},
                   customer_details={**session["customer_details"], "email": email, "name": full_name})
    CheckoutSession.objects.create(stripe_session_id=session_id, lead=lead, idempotency_key=f"idem-{tag}",
                                   status=CheckoutSession.Status.COMPLETE, simulated_object=session)
    Purchase.objects.create(stripe_session_id=session_id, lead=lead, scheduled_email=welcome, amount_cents=997,
                            currency="usd", payment_intent_id=intent)
    stripe_event_record(payload=_stripe_event(f"evt_{tag}_completed", "checkout.session.completed", session))
    charge = fixture("charge")
    charge.update(id=f"ch_test_{tag}", payment_intent=intent, receipt_email=email,
                  billing_details={**charge["billing_details"], "email": email, "name": full_name})
    stripe_event_record(payload=_stripe_event(f"evt_{tag}_charge", "charge.succeeded", charge))

    PracticeSession.objects.create(lead=lead, local_date=date(2026, 11, 20), areas=["neck", "upper-back"],
                                   steps_done=["release", "heat", "stretch"], release_seconds=300,
                                   heat_seconds=900, stretch_seconds=240, pain_before=7, pain_after=4)
    SignInLinkUse.objects.create(lead=lead, used_at=timezone.now())
    lead.refresh_from_db()
    return Person(lead=lead, email=email, first_name=first_name, bounce_text=bounce_text, session_id=session_id,
                  payment_intent=intent)


@pytest.fixture
def ann(db: None) -> Person:
    return make_person(email="ann.lee@example.org", first_name="Zephyrine",
                       bounce_text="550 5.1.1 <ann.lee@example.org>: mailbox zx-quota-7781 is full", tag="ann")


@pytest.fixture
def joann(db: None) -> Person:
    """Someone else, whose address contains Ann's: a text search for Ann's must not touch Joann's data."""
    return make_person(email="joann.lee@example.org", first_name="Marguerite",
                       bounce_text="550 5.1.1 <joann.lee@example.org>: mailbox qq-full-4410 is gone", tag="joann")


def preferences_path(lead: Lead, suffix: str = "") -> str:
    return reverse("preferences", args=[tokens.sign("preferences", {"lead": lead.pk})]) + suffix


def mailed_privacy_link(client: Client, lead: Lead, action: str) -> str:
    """Ask for a download ("export") or erasure ("erase") on the preferences page and return the path of the
    single-use link in the email that request queued. The email is rendered, not sent: these people's mail
    bounced (the fixture above), so the dispatcher would skip it; the link is the one it carries either way."""
    asked = client.post(preferences_path(lead, f"{action}/"))
    assert asked.status_code == 200 and b"We sent you a link" in asked.content
    row = ScheduledEmail.objects.filter(lead=lead, step="privacy-link").latest("pk")
    found = re.search(rf"https?://[^/\s]+(/privacy/[^/\s]+/{action}/)", render_email(lead, row).text)
    assert found, "no privacy link in the email"
    return found.group(1)

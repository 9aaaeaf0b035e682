"""The development simulator (signed, Stripe-shaped events into the real webhook) and the two commands."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from emails.models import ScheduledEmail
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase, StripeEvent
from tests.checkout.conftest import email_row_make, event_make, lead_make, worker_drain

pytestmark = pytest.mark.django_db


def _simulated_checkout(client, lead, row=None) -> tuple[str, str]:
    response = client.post(f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=row.pk if row else None)}/")
    assert response.status_code == 303
    match = re.fullmatch(r"/dev/checkout/(cs_test_sim_[0-9a-f]+)/", response["Location"])
    assert match, response["Location"]
    return match.group(1), response["Location"]


def test_simulator_card_payment_goes_through_the_real_webhook_and_signs_in(client, lead, simulator_on):
    row = email_row_make(lead)
    session_id, url = _simulated_checkout(client, lead, row)
    page = client.get(url)
    assert page.status_code == 200 and b"Pay with card" in page.content and b"Pay 9.97 USD" in page.content

    response = client.post(url, {"action": "pay"})
    assert response.status_code == 303
    assert response["Location"] == f"/checkout/success/?session_id={session_id}"
    worker_drain()
    event = StripeEvent.objects.get()
    assert (event.event_type, event.status) == ("checkout.session.completed", StripeEvent.Status.PROCESSED)
    assert event.payload["data"]["object"]["object"] == "checkout.session"
    purchase = Purchase.objects.get()
    assert (purchase.lead, purchase.scheduled_email, purchase.status) == (lead, row, Purchase.Status.PAID)

    client.get(response["Location"])
    assert client.session["access_lead_id"] == lead.pk
    assert client.post(url, {"action": "pay"}).status_code == 409  # no paying twice
    assert StripeEvent.objects.count() == 1


def test_simulator_delayed_payment_then_success_or_failure(client, simulator_on):
    good, bad = lead_make("good@example.com"), lead_make("bad@example.com")
    for lead, outcome in ((good, "async_succeed"), (bad, "async_fail")):
        browser = Client()
        _, url = _simulated_checkout(browser, lead)
        browser.post(url, {"action": "pay_delayed"})
        worker_drain()
        lead.refresh_from_db()
        assert not lead.is_customer
        assert b"Bank confirms" in browser.get(url).content
        browser.post(url, {"action": outcome})
        worker_drain()
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.is_customer and not bad.is_customer
    assert ScheduledEmail.objects.filter(lead=bad, step="payment-failed").exists()
    assert list(StripeEvent.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "checkout.session.completed", "checkout.session.async_payment_succeeded",
        "checkout.session.completed", "checkout.session.async_payment_failed"]


def test_simulator_expire_cancel_refund_dispute(client, lead, simulator_on):
    _, url = _simulated_checkout(client, lead)
    assert client.post(url, {"action": "cancel"})["Location"] == "/checkout/cancel/"
    client.post(url, {"action": "expire"})
    worker_drain()
    assert ScheduledEmail.objects.filter(lead=lead, step="order-waiting").count() == 1

    _, url = _simulated_checkout(Client(), lead)
    client.post(url, {"action": "pay"})
    client.post(url, {"action": "refund"})
    worker_drain()
    lead.refresh_from_db()
    assert not lead.is_customer and Purchase.objects.get().status == Purchase.Status.REFUNDED


def test_simulator_buy_without_email_asks_for_one(client, db, simulator_on):
    response = client.post("/buy/", {"email": ""})
    url = response["Location"]
    assert client.post(url, {"action": "pay", "email": ""}).status_code == 400
    client.post(url, {"action": "pay", "email": "walkin@example.com"})
    worker_drain()
    assert Purchase.objects.get().lead.email == "walkin@example.com"


def test_simulator_is_404_without_debug_or_with_a_real_key(client, lead, simulator_on, settings):
    session_id, url = _simulated_checkout(client, lead)
    settings.DEBUG = False
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "pay"}).status_code == 404
    settings.DEBUG, settings.STRIPE_SECRET_KEY = True, "sk_test_real"
    assert client.get(url).status_code == 404
    assert not Purchase.objects.exists()


def test_stripe_replay_posts_a_saved_event_signed(tmp_path, fake_stripe, lead):
    session = fake_stripe.session_create_direct(metadata={"lead": str(lead.pk)})
    fake_stripe.complete(session["id"])
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event_make("checkout.session.completed", session, event_id="evt_saved")))
    out = StringIO()
    call_command("stripe_replay", str(path), stdout=out)
    assert "HTTP 200" in out.getvalue()
    assert worker_drain() == [StripeEvent.Status.PROCESSED]
    assert StripeEvent.objects.get(event_id="evt_saved").status == StripeEvent.Status.PROCESSED
    lead.refresh_from_db()
    assert lead.is_customer


def test_stripe_replay_reports_a_refused_event(tmp_path, fake_stripe, lead):
    path = tmp_path / "event.json"
    event = event_make("checkout.session.completed", {"id": "cs_test_x", "object": "checkout.session"})
    del event["data"]  # signed, yet not an event: the webhook refuses it
    path.write_text(json.dumps(event))
    with pytest.raises(CommandError, match="400"):
        call_command("stripe_replay", str(path), stdout=StringIO())
    assert not StripeEvent.objects.exists()


def test_stripe_reconcile_fulfils_paid_sessions_the_webhook_missed(fake_stripe, db):
    missed_lead, done_lead, unpaid_lead = (lead_make(f"{n}@example.com") for n in ("missed", "done", "unpaid"))
    missed = fake_stripe.session_create_direct(metadata={"lead": str(missed_lead.pk)})
    fake_stripe.complete(missed["id"])
    done = fake_stripe.session_create_direct(metadata={"lead": str(done_lead.pk)})
    fake_stripe.complete(done["id"])
    from funnel.checkout.fulfilment import purchase_fulfil

    purchase_fulfil(session_id=done["id"])
    fake_stripe.session_create_direct(metadata={"lead": str(unpaid_lead.pk)})  # still open
    old = fake_stripe.session_create_direct(metadata={"lead": str(unpaid_lead.pk)})
    fake_stripe.complete(old["id"], created=1)  # paid long ago: outside --since

    out = StringIO()
    call_command("stripe_reconcile", "--since", "3d", stdout=out)

    [listing] = fake_stripe.requests_to("GET", "/v1/checkout/sessions")
    assert listing.params["status"] == "complete" and int(listing.params["created[gte]"]) > 1
    assert "paid sessions: 2, fulfilled now: 1" in out.getvalue()
    assert set(Purchase.objects.values_list("lead__email", flat=True)) == {"missed@example.com", "done@example.com"}
    assert ScheduledEmail.objects.filter(step="access").count() == 2
    assert not CheckoutSession.objects.exists()  # sessions made elsewhere are fulfilled by their metadata


def test_stripe_reconcile_rejects_a_bad_since(fake_stripe, db):
    with pytest.raises(CommandError):
        call_command("stripe_reconcile", "--since", "three days")


@pytest.mark.django_db(transaction=True)
def test_stripe_replay_over_http_to_a_running_server(tmp_path, fake_stripe, live_server):
    lead = lead_make("http@example.com")
    session = fake_stripe.session_create_direct(metadata={"lead": str(lead.pk)})
    fake_stripe.complete(session["id"])
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event_make("checkout.session.completed", session)))
    out = StringIO()
    call_command("stripe_replay", str(path), "--url", f"{live_server.url}/webhooks/stripe/", stdout=out)
    assert "HTTP 200" in out.getvalue()
    assert worker_drain() == [StripeEvent.Status.PROCESSED]
    lead.refresh_from_db()
    assert lead.is_customer

"""Events in, state out: purchases, access, emails, refunds and disputes, in any order and any number of times."""

import email
import email.policy
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from emails.dispatch import dispatch_due
from emails.models import ScheduledEmail
from funnel.checkout.events import stripe_event_process, stripe_events_sweep
from funnel.checkout.fulfilment import purchase_fulfil
from funnel.checkout.start import upgrade_token
from funnel.landing.services import signup_submit
from funnel.models import CheckoutSession, PaymentReversal, Purchase, StripeEvent
from leads.access import access_current_buyer
from leads.mailbox import mailbox_sha256
from leads.models import Lead
from leads.services import lead_suppress
from tests.checkout.conftest import email_row_make, event_deliver, event_make, lead_make

pytestmark = pytest.mark.django_db


def _start(client, lead, row=None) -> str:
    """The reader follows the upgrade link; returns the Checkout Session id the fake Stripe made."""
    token = upgrade_token(lead_id=lead.pk, email_row_id=row.pk if row else None)
    assert client.post(f"/upgrade/{token}/").status_code == 303
    return CheckoutSession.objects.filter(lead=lead).latest("created_at").stripe_session_id


def _emails(lead, step) -> list[ScheduledEmail]:
    return list(ScheduledEmail.objects.filter(lead=lead, step=step))


def _session_event(fake, session_id, event_type, event_id=None):
    return event_make(event_type, dict(fake.sessions[session_id]), event_id=event_id)


def test_completed_and_paid_grants_once_credits_the_email_and_queues_one_access_email(client, fake_stripe, lead):
    row = email_row_make(lead, "day-4")
    session_id = _start(client, lead, row)
    fake_stripe.complete(session_id)
    event = _session_event(fake_stripe, session_id, "checkout.session.completed", "evt_paid_1")

    assert event_deliver(Client(), event).status_code == 200
    assert event_deliver(Client(), event).status_code == 200  # Stripe redelivers

    purchase = Purchase.objects.get()
    assert (purchase.lead, purchase.scheduled_email, purchase.status) == (lead, row, Purchase.Status.PAID)
    assert (purchase.amount_cents, purchase.currency, purchase.livemode) == (997, "usd", False)
    assert purchase.payment_intent_id == fake_stripe.sessions[session_id]["payment_intent"]
    lead.refresh_from_db()
    assert lead.is_customer
    [access] = _emails(lead, "access")
    assert (access.stream, access.key) == (ScheduledEmail.Stream.TRANSACTIONAL, session_id)
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    assert CheckoutSession.objects.get().status == CheckoutSession.Status.COMPLETE
    # Fulfilment asked Stripe for the session rather than trusting the payload.
    assert fake_stripe.requests_to("GET", f"/v1/checkout/sessions/{session_id}")


def test_same_event_twice_sends_exactly_one_access_email(client, fake_stripe, lead, settings, mailoutbox_dir):
    settings.EMAIL_BACKEND = "emails.backends.OutboxBackend"
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event = _session_event(fake_stripe, session_id, "checkout.session.completed", "evt_twice")
    for _ in range(2):
        assert event_deliver(Client(), event).status_code == 200
        dispatch_due()  # the real dispatcher, as the worker would run it

    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in mailoutbox_dir.glob("*.eml")]
    assert [(m["To"], m["Subject"]) for m in messages] == [
        ("reader@example.com", "Your Pain Reset full guide is ready (receipt inside)")]


def test_payload_saying_paid_is_not_believed_when_stripe_says_unpaid(client, fake_stripe, lead):
    session_id = _start(client, lead)
    forged = dict(fake_stripe.sessions[session_id], status="complete", payment_status="paid")
    assert event_deliver(client, event_make("checkout.session.completed", forged)).status_code == 200
    assert not Purchase.objects.exists()
    lead.refresh_from_db()
    assert not lead.is_customer


def test_unpaid_completion_then_async_success_grants_only_after_the_second(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id, payment_status="unpaid")
    assert event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed")).status_code \
        == 200
    lead.refresh_from_db()
    assert not lead.is_customer and not Purchase.objects.exists() and not _emails(lead, "access")

    fake_stripe.sessions[session_id]["payment_status"] = "paid"
    event = _session_event(fake_stripe, session_id, "checkout.session.async_payment_succeeded")
    assert event_deliver(client, event).status_code == 200
    lead.refresh_from_db()
    assert lead.is_customer
    assert Purchase.objects.get().status == Purchase.Status.PAID
    assert len(_emails(lead, "access")) == 1


def test_async_failure_gives_no_access_tells_the_buyer_and_keeps_the_drip(client, fake_stripe, lead):
    row = email_row_make(lead, "day-2")
    upcoming = ScheduledEmail.objects.create(lead=lead, step="day-5", stream="marketing",
                                             send_at=lead.created_at, status="scheduled")
    session_id = _start(client, lead, row)
    fake_stripe.complete(session_id, payment_status="unpaid")
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    response = event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.async_payment_failed"))

    assert response.status_code == 200
    lead.refresh_from_db()
    assert not lead.is_customer and lead.status == Lead.Status.SUBSCRIBED
    assert not Purchase.objects.exists()
    [failed] = _emails(lead, "payment-failed")
    assert failed.stream == ScheduledEmail.Stream.TRANSACTIONAL
    assert failed.context["credited_email_id"] == row.pk
    upcoming.refresh_from_db()
    assert upcoming.status == ScheduledEmail.Status.SCHEDULED  # the drip carries on
    assert CheckoutSession.objects.get().status == CheckoutSession.Status.ASYNC_FAILED


def test_expired_session_sends_one_order_waiting_email_to_subscribed_leads_only(client, fake_stripe, lead):
    for _ in range(2):
        session_id = _start(client, lead)
        fake_stripe.sessions[session_id]["status"] = "expired"
        event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.expired"))
    [waiting] = _emails(lead, "order-waiting")
    assert waiting.stream == ScheduledEmail.Stream.MARKETING

    unsubscribed = lead_make("gone@example.com", status=Lead.Status.UNSUBSCRIBED)
    session_id = fake_stripe.session_create_direct(metadata={"lead": str(unsubscribed.pk)}, status="expired")["id"]
    assert event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.expired")).status_code == 200
    assert not _emails(unsubscribed, "order-waiting")


def test_full_refund_revokes_access_and_takes_the_sale_out_of_revenue(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    lead.refresh_from_db()
    version = lead.access_version

    charge = fake_stripe.charge_for(session_id, refunded=True)
    assert event_deliver(client, event_make("charge.refunded", charge)).status_code == 200
    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.REFUNDED and purchase.refunded_at is not None
    lead.refresh_from_db()
    assert not lead.is_customer and lead.access_version == version + 1
    assert not Purchase.objects.filter(status=Purchase.Status.PAID).exists()


def test_partial_refund_keeps_access(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    charge = fake_stripe.charge_for(session_id)
    charge.update(amount_refunded=300)
    event_deliver(client, event_make("charge.refunded", charge))
    lead.refresh_from_db()
    assert lead.is_customer and Purchase.objects.get().status == Purchase.Status.PAID


def test_refund_seen_before_the_completion_ends_with_no_access(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    charge = fake_stripe.charge_for(session_id, refunded=True)

    assert event_deliver(client, event_make("charge.refunded", charge)).status_code == 200
    assert PaymentReversal.objects.get().payment_intent_id == charge["payment_intent"]
    assert event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed")).status_code \
        == 200

    lead.refresh_from_db()
    assert not lead.is_customer
    assert Purchase.objects.get().status == Purchase.Status.REFUNDED
    assert not _emails(lead, "access")


def test_dispute_revokes_access_and_ends_every_session(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    assert client.get(f"/checkout/success/?session_id={session_id}").status_code == 200  # signs this browser in
    other_device = Client()
    from funnel.checkout.signin import signin_token

    lead.refresh_from_db()
    other_device.post(f"/signin/{signin_token(lead)}/")
    for browser in (client, other_device):
        assert browser.session.get("access_lead_id") == lead.pk

    dispute = {"id": "dp_test_1", "object": "dispute", "amount": 997, "currency": "usd", "charge": "ch_x",
               "payment_intent": fake_stripe.sessions[session_id]["payment_intent"], "livemode": False,
               "reason": "fraudulent", "status": "needs_response", "metadata": {}}
    assert event_deliver(Client(), event_make("charge.dispute.created", dispute)).status_code == 200

    assert Purchase.objects.get().status == Purchase.Status.DISPUTED
    lead.refresh_from_db()
    assert not lead.is_customer
    for browser in (client, other_device):
        request = type("R", (), {"session": browser.session})()
        assert access_current_buyer(request) is None


def test_dispute_without_payment_intent_looks_the_charge_up(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    charge = fake_stripe.charge_for(session_id)
    from tests.checkout.fake_stripe import fixture

    dispute = fixture("dispute")
    dispute.update(charge=charge["id"], payment_intent=None)
    assert event_deliver(client, event_make("charge.dispute.created", dispute)).status_code == 200
    assert fake_stripe.requests_to("GET", f"/v1/charges/{charge['id']}")
    assert Purchase.objects.get().status == Purchase.Status.DISPUTED


@pytest.mark.parametrize(("change", "reason"), [
    ({"amount_subtotal": 100, "amount_total": 100}, "amount_subtotal"),
    ({"currency": "eur"}, "currency"),
    ({"livemode": True}, "livemode"),
    ({"amount_total": 1}, "amount_total"),
])
def test_amount_currency_or_mode_mismatch_gives_no_access_and_is_held_for_review(
        client, fake_stripe, lead, change, reason):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id, **change)
    assert event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed")).status_code \
        == 200
    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.REVIEW and reason in purchase.review_reason
    lead.refresh_from_db()
    assert not lead.is_customer and not _emails(lead, "access")


def test_promotion_code_discount_is_a_valid_purchase(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id, amount_total=497,
                         total_details={"amount_discount": 500, "amount_shipping": 0, "amount_tax": 0})
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.amount_cents) == (Purchase.Status.PAID, 497)


def test_a_processing_error_keeps_the_event_with_its_traceback_and_it_can_be_reprocessed(
        client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event = _session_event(fake_stripe, session_id, "checkout.session.completed", "evt_retry_me")
    real = fake_stripe.sessions.pop(session_id)  # Stripe cannot find it: fulfilment raises

    # Stored and acknowledged: the failure is ours to retry, not Stripe's.
    assert event_deliver(client, event).status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEvent.Status.FAILED and "No such checkout.session" in stored.error
    assert stored.payload == event and stored.attempts == 1
    assert not Purchase.objects.exists()

    fake_stripe.sessions[session_id] = real
    assert stripe_event_process(event_id="evt_retry_me") == StripeEvent.Status.PROCESSED  # the admin's button
    assert Purchase.objects.get().status == Purchase.Status.PAID
    assert stripe_event_process(event_id="evt_retry_me") is None  # nothing left to do
    assert event_deliver(client, event).status_code == 200  # a late duplicate delivery
    assert Purchase.objects.count() == 1 and StripeEvent.objects.get().attempts == 2


def test_a_failed_event_is_retried_by_the_sweep_after_its_backoff(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id)
    event = _session_event(fake_stripe, session_id, "checkout.session.completed")
    real = fake_stripe.sessions.pop(session_id)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert event_deliver(client, event).status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.FAILED
    fake_stripe.sessions[session_id] = real

    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert stripe_events_sweep() == {}  # the first retry waits a minute
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert stripe_events_sweep() == {StripeEvent.Status.PROCESSED: 1}
    assert Purchase.objects.get().status == Purchase.Status.PAID
    assert StripeEvent.objects.get().attempts == 2


def test_buy_without_a_link_creates_a_lead_that_gets_no_marketing(client, fake_stripe, db):
    client.post("/buy/", {"email": "walkin@example.com"})
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id, email="walkin@example.com")
    assert event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed")).status_code \
        == 200
    lead = Lead.objects.get(email="walkin@example.com")
    assert lead.is_customer
    # Paid, but never agreed to marketing: no drip, no "order waiting", no confirmation reminder.
    assert lead.status == Lead.Status.UNSUBSCRIBED and lead.reminders_stopped_at is not None
    assert not lead.consents.exists()
    assert len(_emails(lead, "access")) == 1


def test_buy_with_a_known_email_attaches_to_the_existing_lead(client, fake_stripe, lead):
    client.post("/buy/", {"email": "Reader@Example.com"})
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id)
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    assert Purchase.objects.get().lead == lead
    assert Lead.objects.count() == 1


def test_an_address_typed_in_capitals_at_stripe_finds_the_existing_lead(client, fake_stripe, lead):
    client.post("/buy/", {"email": lead.email})
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id, email="  READER@Example.COM ")
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    assert Purchase.objects.get().lead == lead
    assert Lead.objects.count() == 1


def test_a_buyer_who_never_signed_up_is_refused_what_their_mailbox_refused(client, fake_stripe, db):
    """The lead made for a walk-in buyer carries its mailbox key like any other, so a spam complaint about our mail
    to that mailbox stops confirmation mail to every other spelling of it, as it does for a signed-up reader."""
    client.post("/buy/", {"email": "Walk.In@Gmail.com"})
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id, email="Walk.In@Gmail.com")
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    buyer = Lead.objects.get(email="walk.in@gmail.com")
    assert buyer.is_customer and buyer.mailbox_sha256 == mailbox_sha256("walkin@googlemail.com")

    lead_suppress(lead=buyer, reason=Lead.Suppression.COMPLAINT)
    for address in ("walkin+news@googlemail.com", "stranger@example.com"):
        signup_submit(email=address, first_name="", time_zone="UTC", ip_address=None, user_agent="test")
    confirmed = set(ScheduledEmail.objects.filter(step="confirm").values_list("lead__email", flat=True))
    assert confirmed == {"stranger@example.com"}


def test_purchase_fulfil_is_idempotent_when_called_directly(client, fake_stripe, lead):
    session_id = _start(client, lead)
    assert purchase_fulfil(session_id=session_id) is None  # not paid yet
    fake_stripe.complete(session_id)
    first = purchase_fulfil(session_id=session_id)
    second = purchase_fulfil(session_id=session_id)
    assert first is not None and second is not None and first.pk == second.pk
    assert len(_emails(lead, "access")) == 1


def test_full_discount_code_with_nothing_to_pay_is_a_valid_purchase(client, fake_stripe, lead):
    session_id = _start(client, lead)
    fake_stripe.complete(session_id, payment_status="no_payment_required", amount_total=0, payment_intent=None,
                         total_details={"amount_discount": 997, "amount_shipping": 0, "amount_tax": 0})
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.completed"))
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.amount_cents) == (Purchase.Status.PAID, 0)
    lead.refresh_from_db()
    assert lead.is_customer


def test_someone_elses_product_on_the_same_account_creates_no_lead(client, fake_stripe, db):
    other = fake_stripe.session_create_direct(amount_subtotal=4900, amount_total=4900, metadata={})
    fake_stripe.complete(other["id"], email="stranger@example.com")
    assert event_deliver(client, _session_event(fake_stripe, other["id"], "checkout.session.completed")).status_code \
        == 200
    assert not Lead.objects.exists() and not Purchase.objects.exists()


def test_no_order_waiting_for_stopped_reminders_or_typed_addresses(client, fake_stripe, lead):
    stopped = lead_make("stopped@example.com", reminders_stopped_at=lead.created_at)
    session_id = _start(client, stopped)
    event_deliver(client, _session_event(fake_stripe, session_id, "checkout.session.expired"))
    client.post("/buy/", {"email": lead.email})  # someone typed the subscribed reader's address
    typed = [s for s in fake_stripe.sessions if s != session_id][0]
    event_deliver(client, _session_event(fake_stripe, typed, "checkout.session.expired"))
    assert not ScheduledEmail.objects.filter(step="order-waiting").exists()

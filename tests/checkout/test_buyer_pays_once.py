"""Issue 12 B: a buyer is led to sign-in, never to a second checkout; a second payment that still arrives (two
tabs) is refunded through Stripe once, recorded, not counted as a sale, and the buyer is told."""

import email
import email.policy
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from emails.dispatch import dispatch_due
from emails.models import ScheduledEmail
from funnel.checkout.start import upgrade_token
from funnel.dashboard.selectors import DashboardFilters, funnel_summary
from funnel.models import Purchase
from tests.checkout.conftest import checkout_open, checkout_pay, event_deliver, event_make, found, lead_make
from tests.conftest import database_url_for_subprocess

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_payment_from_another_tab_is_refunded_once_recorded_not_a_sale_and_the_buyer_is_told(
        client, fake_stripe):
    fake_stripe.watch_transactions(database_url_for_subprocess())
    lead = lead_make()
    first, second = checkout_open(client, lead), checkout_open(client, lead)  # two tabs open before either is paid
    checkout_pay(fake_stripe, first, "evt_first")
    checkout_pay(fake_stripe, second, "evt_second")
    second_intent = fake_stripe.sessions[second]["payment_intent"]

    # Everything that may fulfil the second session again: Stripe's redelivery as a new event, the success page.
    event_deliver(Client(), event_make("checkout.session.async_payment_succeeded", dict(fake_stripe.sessions[second]),
                                       event_id="evt_second_again"))
    assert client.get(f"/checkout/success/?session_id={second}").status_code == 200

    refunds = fake_stripe.requests_to("POST", "/v1/refunds")
    [key] = {r.idempotency_key for r in refunds}  # every call for this payment under one key
    assert key and key.startswith(f"refund:{second_intent}:")
    assert [r["payment_intent"] for r in fake_stripe.refunds.values()] == [second_intent]  # refunded once
    assert [r.transactions_open for r in refunds] == [[]] * len(refunds)
    kept, refunded = Purchase.objects.get(stripe_session_id=first), Purchase.objects.get(stripe_session_id=second)
    assert kept.status == Purchase.Status.PAID
    assert refunded.status == Purchase.Status.DUPLICATE and refunded.refunded_at is not None
    assert refunded.refund_id == next(iter(fake_stripe.refunds))
    # One access email, one "we refunded your second payment" email.
    steps = list(ScheduledEmail.objects.filter(lead=lead).values_list("step", flat=True))
    assert sorted(steps) == ["access", "duplicate-refunded"]

    # Stripe then reports the refund it made: the buyer keeps access, and the record stays a refunded duplicate.
    charge = fake_stripe.charge_for(second, refunded=True)
    event_deliver(Client(), event_make("charge.refunded", charge))
    lead.refresh_from_db()
    assert lead.is_customer
    assert Purchase.objects.get(stripe_session_id=second).status == Purchase.Status.DUPLICATE

    today = timezone.now().date()
    summary = funnel_summary(DashboardFilters(start=today - timedelta(days=1), end=today))
    assert (summary.gross_cents, summary.refunded_cents, summary.step("paid").count) == (997, 0, 1)


def test_the_buyers_email_tells_them_the_second_payment_was_refunded(client, fake_stripe, settings, mailoutbox_dir):
    settings.EMAIL_BACKEND = "emails.backends.OutboxBackend"
    lead = lead_make()
    first, second = checkout_open(client, lead), checkout_open(client, lead)
    checkout_pay(fake_stripe, first, "evt_a")
    checkout_pay(fake_stripe, second, "evt_b")
    dispatch_due()
    subjects = sorted(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
                      for p in mailoutbox_dir.glob("*.eml"))
    assert subjects == ["We refunded your second payment for the Pain Reset guide",
                        "Your Pain Reset full guide is ready (receipt inside)"]


def test_a_buyers_reminder_leads_to_a_prefilled_sign_in_never_to_the_sales_page(
        settings, mailoutbox_dir, fake_stripe):
    settings.EMAIL_BACKEND = "emails.backends.OutboxBackend"
    lead = lead_make(is_customer=True, customer_since=timezone.now())
    ScheduledEmail.objects.create(lead=lead, step="day-3", stream=ScheduledEmail.Stream.MARKETING,
                                  send_at=timezone.now())
    dispatch_due()
    [path] = list(mailoutbox_dir.glob("*.eml"))
    body = email.message_from_bytes(path.read_bytes(), policy=email.policy.default).get_body(("plain",))
    assert body is not None
    url = found(r"Open today's session: (\S+)", body.get_content())

    browser = Client()  # a browser that is not signed in
    page = browser.get(url.removeprefix(settings.SITE_URL), follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<input[^>]*name="email"[^>]*value="reader@example.com"', html)
    assert "Send me a sign-in link" in html and "checkout" not in html.lower()
    # One press: the link goes to the buyer's mailbox.
    browser.post("/signin/", {"email": "reader@example.com"})
    assert ScheduledEmail.objects.filter(lead=lead, step="signin").count() == 1
    assert not fake_stripe.requests_to("POST", "/v1/checkout/sessions")


def test_the_upgrade_link_of_a_buyer_mails_a_sign_in_link_on_one_press_and_never_opens_a_checkout(
        client, fake_stripe):
    lead = lead_make(is_customer=True, customer_since=timezone.now())
    url = f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=None)}/"

    shown = client.get(url)  # also what a mail scanner sees: nothing is sent
    assert shown.status_code == 200 and "Email me a sign-in link" in shown.content.decode()
    assert not ScheduledEmail.objects.filter(lead=lead).exists()

    sent = client.post(url)
    assert sent.status_code == 200 and "Check your email" in sent.content.decode()
    assert ScheduledEmail.objects.filter(lead=lead, step="signin").count() == 1
    assert not fake_stripe.requests_to("POST", "/v1/checkout/sessions")


def test_buy_with_a_buyers_address_mails_them_a_sign_in_link_and_answers_exactly_as_for_anyone(client, fake_stripe):
    buyer = lead_make("owner@example.com", is_customer=True, customer_since=timezone.now())
    stranger = lead_make("someone@example.com")

    answers = [Client().post("/buy/", {"email": address}) for address in ("Owner@Example.com", "someone@example.com")]

    # The same answer (a checkout at Stripe) whoever the address belongs to: /buy/ tells nobody who bought.
    assert [a.status_code for a in answers] == [303, 303]
    assert all(a["Location"].startswith("https://checkout.stripe.com/c/pay/") for a in answers)
    # Only the owner's mailbox learns it: a sign-in link, with word that a second payment would be refunded.
    assert list(ScheduledEmail.objects.filter(lead=buyer).values_list("step", flat=True)) == ["already-yours"]
    assert not ScheduledEmail.objects.filter(lead=stranger).exists()

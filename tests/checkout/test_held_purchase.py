"""Issue 12 E: a paid purchase is checked against the configured Price itself; one that is held tells staff and
the buyer, and staff (never the view-only marketing group) grant or refund it from the admin, recorded."""

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from emails.models import ScheduledEmail
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase
from leads.models import Lead
from tests.checkout.conftest import event_deliver, event_make, lead_make
from tests.conftest import database_url_for_subprocess

pytestmark = pytest.mark.django_db


def _paid(client: Client, fake_stripe, lead: Lead, **session: object) -> str:
    token = upgrade_token(lead_id=lead.pk, email_row_id=None)
    assert client.post(f"/upgrade/{token}/").status_code == 303
    session_id = CheckoutSession.objects.filter(lead=lead).latest("created_at").stripe_session_id
    fake_stripe.complete(session_id, **session)
    event = event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id]))
    assert event_deliver(Client(), event).status_code == 200
    return session_id


def _held(client: Client, fake_stripe, lead: Lead) -> Purchase:
    _paid(client, fake_stripe, lead, amount_subtotal=100, amount_total=100)
    purchase = Purchase.objects.get(lead=lead)
    assert purchase.status == Purchase.Status.REVIEW
    return purchase


def _marketer() -> User:
    call_command("setup_marketing_group", stdout=io.StringIO())
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    return user


def _admin_action(user: User, action: str, purchase: Purchase) -> Any:
    browser = Client()
    browser.force_login(user)
    return browser.post(reverse("admin:funnel_purchase_changelist"),
                        {"action": action, "_selected_action": [purchase.pk]}, follow=True)


def test_with_a_stripe_price_its_own_amount_and_currency_are_the_check_read_once(client, fake_stripe, settings):
    price = fake_stripe.price_add(unit_amount=1900, currency="eur")
    settings.STRIPE_PRICE_ID = price["id"]
    buyers = [lead_make(f"b{i}@example.com") for i in range(2)]
    for buyer in buyers:
        _paid(client, fake_stripe, buyer, amount_subtotal=1900, amount_total=1900, currency="eur")

    assert list(Purchase.objects.values_list("status", flat=True)) == [Purchase.Status.PAID] * 2
    assert all(Lead.objects.filter(pk__in=[b.pk for b in buyers]).values_list("is_customer", flat=True))
    assert len(fake_stripe.requests_to("GET", f"/v1/prices/{price['id']}")) == 1  # cached after the first read

    # The old inline price is now the wrong amount: held.
    other = lead_make("c@example.com")
    _paid(client, fake_stripe, other, amount_subtotal=997, amount_total=997, currency="usd")
    assert Purchase.objects.get(lead=other).status == Purchase.Status.REVIEW


def test_a_held_purchase_emails_staff_and_tells_the_buyer_we_are_checking(client, fake_stripe, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STAFF_ALERT_EMAIL = ["orders@painreset.example"]
    lead = lead_make()
    purchase = _held(client, fake_stripe, lead)

    [alert] = mailoutbox
    assert alert.to == ["orders@painreset.example"] and "held for review" in alert.subject
    assert purchase.stripe_session_id in alert.body and "amount_subtotal" in alert.body
    assert list(ScheduledEmail.objects.filter(lead=lead).values_list("step", "stream")) == [
        ("order-review", ScheduledEmail.Stream.TRANSACTIONAL)]


def test_staff_grant_a_held_purchase_from_the_admin_and_the_decision_is_recorded(client, fake_stripe):
    lead = lead_make()
    purchase = _held(client, fake_stripe, lead)
    staff = User.objects.create_superuser("ops", "ops@example.com", "pw")

    # The view-only marketing group cannot: nothing changes.
    _admin_action(_marketer(), "grant_held", purchase)
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REVIEW and purchase.reviewed_by is None

    assert _admin_action(staff, "grant_held", purchase).status_code == 200

    purchase.refresh_from_db()
    lead.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID and lead.is_customer
    assert (purchase.review_outcome, purchase.reviewed_by) == ("granted", staff) and purchase.reviewed_at
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1
    assert not fake_stripe.requests_to("POST", "/v1/refunds")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_staff_refund_a_held_purchase_through_stripe_once_and_the_decision_is_recorded(client, fake_stripe):
    fake_stripe.watch_transactions(database_url_for_subprocess())
    lead = lead_make()
    purchase = _held(client, fake_stripe, lead)
    staff = User.objects.create_superuser("ops", "ops@example.com", "pw")

    _admin_action(_marketer(), "refund_held", purchase)  # the view-only marketing group cannot
    assert not fake_stripe.requests_to("POST", "/v1/refunds")
    _admin_action(staff, "refund_held", purchase)
    _admin_action(staff, "refund_held", purchase)  # a second press refunds nothing more

    [refund_call] = fake_stripe.requests_to("POST", "/v1/refunds")
    assert refund_call.params["payment_intent"] == purchase.payment_intent_id
    assert refund_call.transactions_open == []
    purchase.refresh_from_db()
    assert (purchase.status, purchase.review_outcome, purchase.reviewed_by) == (
        Purchase.Status.REFUNDED, "refunded", staff)
    assert purchase.refund_id == next(iter(fake_stripe.refunds)) and purchase.refunded_at
    lead.refresh_from_db()
    assert not lead.is_customer

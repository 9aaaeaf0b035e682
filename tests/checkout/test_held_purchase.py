"""Issue 12 E: a paid purchase is checked against the configured Price itself; one that is held tells staff and
the buyer, and staff (never the view-only marketing group) grant or refund it from the admin, recorded."""

import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.checks import ERROR, WARNING, CheckMessage, run_checks
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


def test_a_stripe_500_on_the_staff_refund_is_shown_and_the_next_press_refunds_once_under_a_new_key(
        client, fake_stripe):
    lead = lead_make()
    purchase = _held(client, fake_stripe, lead)
    staff = User.objects.create_superuser("ops", "ops@example.com", "pw")
    fake_stripe.fail_next(1, status=500, paths="/v1/refunds")

    refused = _admin_action(staff, "refund_held", purchase)
    assert "Stripe refused the refund" in refused.content.decode()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REVIEW and not fake_stripe.refunds

    _admin_action(staff, "refund_held", purchase)  # staff press again

    failed, retried = fake_stripe.requests_to("POST", "/v1/refunds")
    # Stripe stored the 500 under the first key and would replay it for 24 h: the second press sends a new one.
    assert failed.idempotency_key != retried.idempotency_key
    [refund] = fake_stripe.refunds.values()
    purchase.refresh_from_db()
    assert (purchase.status, purchase.review_outcome, purchase.refund_id) == (
        Purchase.Status.REFUNDED, "refunded", refund["id"])


# Issue 17 (5b): a Price with no fixed amount (Stripe's `unit_amount` is null) leaves nothing to check a payment
# against. Such a purchase is held for review, saying why; the deploy check refuses such a Price before release.
PRICES_WITHOUT_AN_AMOUNT = {
    "customer chooses the price": {"custom_unit_amount": {"maximum": None, "minimum": 100, "preset": 997}},
    "tiered": {"billing_scheme": "tiered", "tiers_mode": "volume"},
}


@pytest.mark.parametrize("shape", PRICES_WITHOUT_AN_AMOUNT.values(), ids=PRICES_WITHOUT_AN_AMOUNT.keys())
def test_a_payment_for_a_price_without_a_fixed_amount_is_held_for_review_saying_why(
        client, fake_stripe, settings, mailoutbox, shape):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STAFF_ALERT_EMAIL = ["orders@painreset.example"]
    price = fake_stripe.price_add(unit_amount=None, **shape)
    settings.STRIPE_PRICE_ID = price["id"]
    lead = lead_make()
    token = upgrade_token(lead_id=lead.pk, email_row_id=None)
    assert client.post(f"/upgrade/{token}/").status_code == 303
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id, amount_subtotal=100, amount_total=100)  # the buyer chose $1.00

    # Stripe sends the buyer back before its event arrives: the success page fulfils, and answers.
    page = client.get(f"/checkout/success/?session_id={session_id}")

    assert page.status_code == 200 and 'data-state="check-email"' in page.content.decode()
    purchase = Purchase.objects.get(lead=lead)
    assert purchase.status == Purchase.Status.REVIEW and purchase.amount_cents == 100
    assert f"STRIPE_PRICE_ID {price['id']} has no fixed unit_amount" in purchase.review_reason
    lead.refresh_from_db()
    assert not lead.is_customer and client.session.get("access_lead_id") is None
    [alert] = mailoutbox
    assert "has no fixed unit_amount" in alert.body
    assert list(ScheduledEmail.objects.filter(lead=lead).values_list("step", flat=True)) == ["order-review"]

    # Stripe's event for the same payment changes nothing.
    event_deliver(Client(), event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id])))
    assert Purchase.objects.get(lead=lead).status == Purchase.Status.REVIEW


def _deploy_check() -> list[CheckMessage]:
    return run_checks(include_deployment_checks=True, tags=["stripe"])


def test_the_deploy_check_refuses_a_price_without_a_fixed_amount_and_one_stripe_does_not_know(
        fake_stripe, settings):
    settings.STRIPE_PRICE_ID = fake_stripe.price_add(unit_amount=None, **PRICES_WITHOUT_AN_AMOUNT["tiered"])["id"]
    [refused] = _deploy_check()
    assert refused.level == ERROR and refused.id == "funnel.E002"
    assert f"STRIPE_PRICE_ID {settings.STRIPE_PRICE_ID} has no fixed unit_amount" in refused.msg

    settings.STRIPE_PRICE_ID = "price_deleted0000000000000"
    [unknown] = _deploy_check()
    assert unknown.level == ERROR and unknown.id == "funnel.E001" and "No such price" in unknown.msg

    settings.STRIPE_PRICE_ID = fake_stripe.price_add(unit_amount=997)["id"]
    assert _deploy_check() == []


def test_the_deploy_check_lets_a_release_through_when_stripe_fails_and_says_so(fake_stripe, settings):
    settings.STRIPE_PRICE_ID = fake_stripe.price_add(unit_amount=None)["id"]
    fake_stripe.fail_next(1, status=500, paths="/v1/prices/.*")
    [note] = _deploy_check()
    assert note.level < WARNING and "was not checked" in note.msg  # bin/migrate fails at WARNING and above

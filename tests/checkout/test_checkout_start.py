"""Upgrade link and buy button → a Checkout Session at (the fake) Stripe with exactly the parameters we promise."""

from urllib.parse import parse_qs, urlsplit

import pytest

from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession
from leads import tokens
from tests.checkout.conftest import email_row_make, found, lead_make

pytestmark = pytest.mark.django_db


def _upgrade_path(lead, row=None) -> str:
    return f"/upgrade/{upgrade_token(lead_id=lead.pk, email_row_id=row.pk if row else None)}/"


def test_upgrade_link_creates_session_with_every_promised_parameter(client, fake_stripe, lead):
    row = email_row_make(lead)
    response = client.post(_upgrade_path(lead, row))

    assert response.status_code == 303
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    p = request.params
    assert p["mode"] == "payment"
    assert p["line_items[0][quantity]"] == "1"
    assert p["line_items[0][price_data][unit_amount]"] == "997"
    assert p["line_items[0][price_data][currency]"] == "usd"
    assert "Pain Reset" in p["line_items[0][price_data][product_data][name]"]
    assert p["customer_email"] == "reader@example.com"
    assert p["client_reference_id"] == str(lead.pk)
    assert p["metadata[lead]"] == str(lead.pk)
    assert p["metadata[email]"] == str(row.pk)
    assert p["payment_intent_data[metadata][lead]"] == str(lead.pk)
    assert p["allow_promotion_codes"] == "true"
    assert p["success_url"] == "http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}"
    assert p["cancel_url"] == "http://testserver/checkout/cancel/"
    assert request.idempotency_key and str(lead.pk) in request.idempotency_key
    assert request.headers["authorization"] == "Bearer sk_test_fake_key_for_tests"

    [session] = fake_stripe.sessions.values()
    assert response["Location"] == session["url"]
    recorded = CheckoutSession.objects.get()
    assert (recorded.stripe_session_id, recorded.lead, recorded.scheduled_email) == (session["id"], lead, row)
    assert recorded.idempotency_key == request.idempotency_key
    assert recorded.lead_verified is True
    assert client.session["checkout_session_ids"] == [session["id"]]


def test_price_id_is_sent_instead_of_inline_price_when_configured(client, fake_stripe, lead, settings):
    settings.STRIPE_PRICE_ID = "price_1PgafmB7WZ01zgkW6dKueIc5"
    client.post(_upgrade_path(lead))
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert request.params["line_items[0][price]"] == "price_1PgafmB7WZ01zgkW6dKueIc5"
    assert not any(k.startswith("line_items[0][price_data]") for k in request.params)
    assert "metadata[email]" not in request.params  # no email row in this link


def test_timeout_is_retried_with_the_same_idempotency_key(client, fake_stripe, lead):
    fake_stripe.stall_next(1, seconds=2.5, paths="/v1/checkout/sessions")  # client timeout is 1 s
    response = client.post(_upgrade_path(lead))

    assert response.status_code == 303
    attempts = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert len(attempts) == 2
    assert attempts[0].idempotency_key == attempts[1].idempotency_key
    assert len(fake_stripe.sessions) == 1  # Stripe replayed the first answer: one session, not two
    assert CheckoutSession.objects.count() == 1


def test_a_failed_attempt_retried_by_the_reader_reuses_the_key_then_a_new_attempt_gets_a_new_one(
        client, fake_stripe, lead, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    fake_stripe.stall_next(1, seconds=2.5, paths="/v1/checkout/sessions")
    failed = client.post(_upgrade_path(lead))
    assert failed.status_code == 200
    assert "Try again" in failed.content.decode()
    assert CheckoutSession.objects.count() == 0

    assert client.post(_upgrade_path(lead)).status_code == 303  # the reader presses "Try again"
    first, retry = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert first.idempotency_key == retry.idempotency_key

    client.post(_upgrade_path(lead))  # back from Stripe, clicks the link again: a new attempt
    third = fake_stripe.requests_to("POST", "/v1/checkout/sessions")[-1]
    assert third.idempotency_key != first.idempotency_key
    assert CheckoutSession.objects.count() == 2


def test_buyer_is_not_sold_twice(client, fake_stripe, lead):
    lead.is_customer = True
    lead.save(update_fields=["is_customer"])
    # The link offers a sign-in link by mail (tests/checkout/test_buyer_pays_once.py), never a checkout.
    for response in (client.get(_upgrade_path(lead)), client.post(_upgrade_path(lead))):
        assert response.status_code == 200
    assert client.session.get("access_lead_id") is None  # a reusable link is no key to the account
    assert fake_stripe.requests == []


def test_bad_or_foreign_tokens_show_the_invalid_link_page(client, fake_stripe, lead):
    for token in ["nope", tokens.sign("unsubscribe", {"lead": lead.pk}), upgrade_token(lead_id=999999,
                                                                                        email_row_id=None)]:
        response = client.get(f"/upgrade/{token}/")
        assert response.status_code == 404
        assert "no longer works" in response.content.decode()
    assert fake_stripe.requests == []


def test_another_leads_email_row_is_not_credited(client, fake_stripe, lead):
    other_row = email_row_make(lead_make("other@example.com"))
    client.post(_upgrade_path(lead, other_row))
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert "metadata[email]" not in request.params


def test_head_from_a_link_scanner_creates_no_session(client, fake_stripe, lead):
    assert client.head(_upgrade_path(lead)).status_code == 200
    assert fake_stripe.requests == []


def test_buy_form_with_email_prefills_it_and_names_no_lead(client, fake_stripe, db):
    page = client.get("/buy/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    response = client.post("/buy/", {"email": "New.Buyer@Example.com"})
    assert response.status_code == 303
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert request.params["customer_email"] == "new.buyer@example.com"
    assert "client_reference_id" not in request.params
    assert not any(k.startswith("metadata[") for k in request.params)
    assert request.params["mode"] == "payment" and request.params["allow_promotion_codes"] == "true"
    assert CheckoutSession.objects.get().lead_verified is False


def test_buy_without_email_lets_stripe_ask_for_it(client, fake_stripe, db):
    assert client.post("/buy/", {"email": ""}).status_code == 303
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert "customer_email" not in request.params


def test_buy_post_needs_csrf(fake_stripe, db):
    from django.test import Client

    assert Client(enforce_csrf_checks=True).post("/buy/", {"email": "a@example.com"}).status_code == 403
    assert fake_stripe.requests == []


def test_success_url_placeholder_survives_for_stripe(client, fake_stripe, lead):
    client.post(_upgrade_path(lead))
    [session] = fake_stripe.sessions.values()
    query = parse_qs(urlsplit(session["success_url"]).query)
    assert query == {"session_id": ["{CHECKOUT_SESSION_ID}"]}


def _try_again(client, failed):
    """Press the error page's "Try again" button (a form posting back to the upgrade link)."""
    html = failed.content.decode()
    assert "Try again" in html
    return client.post(found(r'<form method="post" action="([^"]+)">', html))


def test_stripe_500_then_try_again_reaches_checkout_under_a_new_key(client, fake_stripe, lead):
    fake_stripe.fail_next(1, status=500, paths="/v1/checkout/sessions")
    failed = client.post(_upgrade_path(lead))
    assert failed.status_code == 200 and CheckoutSession.objects.count() == 0

    retried = _try_again(client, failed)

    [session] = fake_stripe.sessions.values()
    assert retried.status_code == 303 and retried["Location"] == session["url"]
    first, second = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    # Stripe stored the 500 under the first key and would replay it for 24 h: the retry must not reuse it.
    assert first.idempotency_key != second.idempotency_key


def test_an_idempotency_error_gives_the_next_attempt_a_new_key(client, fake_stripe, lead, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    fake_stripe.stall_next(1, seconds=2.5, paths="/v1/checkout/sessions")
    timed_out = client.post(_upgrade_path(lead))  # Stripe made a session; we never heard: the key is kept
    settings.STRIPE_PRICE_ID = "price_1PgafmB7WZ01zgkW6dKueIc5"  # a deploy changed the request meanwhile
    refused = _try_again(client, timed_out)
    assert refused.status_code == 200 and "Try again" in refused.content.decode()

    retried = _try_again(client, refused)

    assert retried.status_code == 303
    keys = [r.idempotency_key for r in fake_stripe.requests_to("POST", "/v1/checkout/sessions")]
    assert keys[0] == keys[1] != keys[2]  # kept across the timeout, renewed after Stripe's idempotency_error
    assert CheckoutSession.objects.get().idempotency_key == keys[2]

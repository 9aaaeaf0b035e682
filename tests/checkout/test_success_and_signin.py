"""Who gets signed in: the browser that started the checkout from an email link, or a magic link's holder."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.rendering import render_email
from funnel.checkout.signin import SIGNIN_TOKEN_MAX_AGE_SECONDS, signin_token
from funnel.checkout.start import upgrade_token
from funnel.models import CheckoutSession, Purchase
from leads import tokens
from leads.services import lead_revoke_access
from tests.checkout.conftest import event_deliver, event_make, found, lead_make

pytestmark = pytest.mark.django_db


def _signed_in_lead_id(client: Client) -> int | None:
    return client.session.get("access_lead_id")


def _paid_session(client, fake_stripe, lead) -> str:
    token = upgrade_token(lead_id=lead.pk, email_row_id=None)
    client.post(f"/upgrade/{token}/")
    session_id = CheckoutSession.objects.filter(lead=lead).latest("created_at").stripe_session_id
    fake_stripe.complete(session_id)
    return session_id


def test_success_page_signs_in_the_browser_that_started_checkout_and_rotates_the_session_key(
        client, fake_stripe, lead):
    session_id = _paid_session(client, fake_stripe, lead)
    key_before = client.session.session_key
    response = client.get(f"/checkout/success/?session_id={session_id}")

    assert response.status_code == 200
    assert "full guide is unlocked" in response.content.decode()
    assert _signed_in_lead_id(client) == lead.pk
    assert client.session.session_key != key_before
    assert Purchase.objects.get().status == Purchase.Status.PAID  # fulfilled here, webhook not needed
    assert ScheduledEmail.objects.filter(lead=lead, step="access").count() == 1


def test_someone_elses_session_id_leaks_nothing(client, fake_stripe, lead):
    session_id = _paid_session(client, fake_stripe, lead)
    client.get(f"/checkout/success/?session_id={session_id}")  # the buyer's own browser

    stranger = Client()
    pages = [stranger.get(f"/checkout/success/?session_id={sid}") for sid in
             (session_id, "cs_test_does_not_exist", "")]
    bodies = {re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", p.content.decode()) for p in pages}
    assert len(bodies) == 1  # the same page whatever the id: nothing to learn by guessing
    [body] = bodies
    assert "check your email" in body.lower()
    assert "reader@example.com" not in body and "Robin" not in body
    assert _signed_in_lead_id(stranger) is None
    stripe_calls = len(fake_stripe.requests)
    stranger.get(f"/checkout/success/?session_id={session_id}")
    assert len(fake_stripe.requests) == stripe_calls  # a stranger's id costs no Stripe call either


def test_buy_page_purchase_is_not_signed_in_by_the_success_page(client, fake_stripe, lead):
    # The address on /buy/ was typed, not proven: signing in would hand its owner's account to the typist.
    client.post("/buy/", {"email": lead.email})
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id)
    response = client.get(f"/checkout/success/?session_id={session_id}")
    assert "check your email" in response.content.decode().lower()
    assert _signed_in_lead_id(client) is None
    lead.refresh_from_db()
    assert lead.is_customer  # the purchase itself went through; access comes by email


def test_success_page_while_a_delayed_payment_is_pending(client, fake_stripe, lead):
    session_id = _paid_session(client, fake_stripe, lead)
    fake_stripe.sessions[session_id]["payment_status"] = "unpaid"
    response = client.get(f"/checkout/success/?session_id={session_id}")
    assert "being processed" in response.content.decode()
    assert _signed_in_lead_id(client) is None


def _buyer(email="buyer@example.com"):
    return lead_make(email, is_customer=True)


def test_magic_link_get_only_shows_a_button_post_signs_in_once(client, db):
    buyer = _buyer()
    token = signin_token(buyer)
    page = client.get(f"/signin/{token}/")
    assert page.status_code == 200 and b'method="post"' in page.content
    assert client.get(f"/signin/{token}/").status_code == 200  # a scanner's fetch used nothing up
    assert _signed_in_lead_id(client) is None

    key_before = client.session.session_key
    response = client.post(f"/signin/{token}/")
    assert response.status_code == 303 and response["Location"] == "/guide/"
    assert _signed_in_lead_id(client) == buyer.pk and client.session.session_key != key_before

    again = Client().post(f"/signin/{token}/")
    assert again.status_code == 400 and b"already used" in again.content


def test_magic_link_expires(client, db, monkeypatch):
    buyer = _buyer()
    token = signin_token(buyer)
    later = timezone.now() + timedelta(seconds=SIGNIN_TOKEN_MAX_AGE_SECONDS + 5)
    monkeypatch.setattr(tokens, "_now", lambda: later)
    assert client.post(f"/signin/{token}/").status_code == 400
    assert _signed_in_lead_id(client) is None


def test_magic_link_dies_with_a_refund(client, db):
    buyer = _buyer()
    token = signin_token(buyer)
    lead_revoke_access(lead=buyer)
    assert client.post(f"/signin/{token}/").status_code == 400


def test_magic_link_csrf_is_enforced(db):
    buyer = _buyer()
    assert Client(enforce_csrf_checks=True).post(f"/signin/{signin_token(buyer)}/").status_code == 403


def test_signin_request_same_answer_for_buyer_and_stranger_and_mail_only_for_buyers(client, db):
    buyer = _buyer()
    free_reader = lead_make("free@example.com")
    answers = [client.post("/signin/", {"email": e}) for e in (buyer.email, free_reader.email, "nobody@example.com")]
    bodies = {re.sub(r'value="[^"]+"', "", a.content.decode()) for a in answers}
    assert {a.status_code for a in answers} == {200} and len(bodies) == 1
    row = ScheduledEmail.objects.get(step="signin")
    assert (row.lead, row.stream) == (buyer, ScheduledEmail.Stream.TRANSACTIONAL)
    rendered = render_email(buyer, row)
    link = found(r"http://testserver(/signin/[^/\s]+/)", rendered.text)
    assert link in rendered.html and "expires in 24 hours" in rendered.text
    assert client.post(link).status_code == 303 and _signed_in_lead_id(client) == buyer.pk


def test_signin_request_typed_in_capitals_finds_the_buyer(client, db):
    buyer = _buyer()
    assert client.post("/signin/", {"email": f" {buyer.email.upper()} "}).status_code == 200
    assert ScheduledEmail.objects.get(step="signin").lead == buyer


def test_signin_request_rate_limited_per_email_silently_and_per_ip_openly(client, db, settings, held_clock):
    buyer = _buyer()
    settings.SIGNIN_RATE_LIMIT_PER_EMAIL = "2/h"
    settings.SIGNIN_RATE_LIMIT = "4/h"
    for _ in range(3):
        assert client.post("/signin/", {"email": buyer.email}).status_code == 200
    assert ScheduledEmail.objects.filter(step="signin").count() == 2  # the third asked too often
    client.post("/signin/", {"email": "x@example.com"})
    limited = client.post("/signin/", {"email": "y@example.com"})
    assert limited.status_code == 429 and b"Too many requests" in limited.content


def test_access_email_holds_a_working_magic_link_and_a_receipt(client, fake_stripe, lead):
    session_id = _paid_session(client, fake_stripe, lead)
    event_deliver(client, event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id])))
    row = ScheduledEmail.objects.get(lead=lead, step="access")
    lead.refresh_from_db()
    rendered = render_email(lead, row)

    assert "$9.97" in rendered.text and f"PR-{Purchase.objects.get().pk:06d}" in rendered.text
    assert "not medical advice" in rendered.text.lower() or "medical advice" in rendered.text.lower()
    link = found(r"http://testserver(/signin/[^/\s]+/)", rendered.text)
    assert link in rendered.html
    browser = Client()
    assert browser.post(link).status_code == 303
    assert _signed_in_lead_id(browser) == lead.pk


def test_payment_failed_and_order_waiting_emails_carry_a_fresh_upgrade_link(client, fake_stripe, lead):
    for step in ("payment-failed", "order-waiting"):
        row = ScheduledEmail.objects.create(lead=lead, step=step, key="k", send_at=lead.created_at,
                                            context={"credited_email_id": None})
        rendered = render_email(lead, row)
        link = found(r"http://testserver(/upgrade/[^/\s]+/)", rendered.text)
        assert client.post(link).status_code == 303, step
    assert len(fake_stripe.sessions) == 2


def test_access_email_link_survives_the_success_page_sign_in_but_not_its_own_use(client, fake_stripe, lead):
    # The webhook wins the race: the access email is rendered (sent) before the buyer is back on our site.
    session_id = _paid_session(client, fake_stripe, lead)
    event_deliver(Client(), event_make("checkout.session.completed", dict(fake_stripe.sessions[session_id])))
    lead.refresh_from_db()
    link = found(r"http://testserver(/signin/[^/\s]+/)",
                 render_email(lead, ScheduledEmail.objects.get(lead=lead, step="access")).text)
    client.get(f"/checkout/success/?session_id={session_id}")
    assert _signed_in_lead_id(client) == lead.pk

    phone = Client()
    assert phone.post(link).status_code == 303 and _signed_in_lead_id(phone) == lead.pk
    assert Client().post(link).status_code == 400


def test_using_a_newer_link_kills_the_older_ones(client, db, monkeypatch):
    buyer = _buyer()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(tokens, "_now", lambda: an_hour_ago)
    older = signin_token(buyer)
    monkeypatch.undo()
    newer = signin_token(buyer)
    assert older != newer
    assert client.post(f"/signin/{newer}/").status_code == 303
    assert Client().post(f"/signin/{older}/").status_code == 400

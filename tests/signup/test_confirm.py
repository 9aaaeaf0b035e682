"""Double opt-in: the confirmation mail, the scanner-safe link, and what the link refuses."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from leads import tokens
from leads.confirmation import confirm_token_make
from leads.models import ConsentRecord, Lead
from leads.services import lead_unsubscribe
from tests.signup.conftest import form_data, make_lead, unique_ip

pytestmark = pytest.mark.django_db


def _confirm_path(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_mail_confirm_click_then_free_guide_and_welcome(client: Client, mailoutbox: list[Any]) -> None:
    client.post("/signup/", form_data(email="Reader@Example.com"))
    dispatch_batch()
    (confirm_mail,) = mailoutbox
    assert confirm_mail.to == ["reader@example.com"]
    assert "Confirm your email" in confirm_mail.subject
    assert "Education, not medical advice." in confirm_mail.body
    path = _confirm_path(confirm_mail)
    html = confirm_mail.alternatives[0][0]
    assert path in html

    # A link scanner (or the person) opening the link changes nothing.
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm and open my free guide" in page.content
    lead = Lead.objects.get()
    assert lead.status == Lead.Status.PENDING

    done = client.post(path)
    assert done.status_code == 302 and done["Location"] == "/guide/free/?welcome=1"
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED and lead.confirmed_at
    assert ConsentRecord.objects.filter(lead=lead, action="confirm").count() == 1
    assert ScheduledEmail.objects.filter(lead=lead, stream="marketing").count() == 8
    guide = client.get(done["Location"])
    assert b"You're confirmed" in guide.content

    dispatch_batch()
    assert [m.subject.split(":")[0] for m in mailoutbox[1:]] == ["Welcome, Dana"]


def test_confirm_with_real_csrf_checks_uses_the_pages_token() -> None:
    lead = make_lead("csrf@example.com", Lead.Status.PENDING)
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=unique_ip())
    path = f"/confirm/{confirm_token_make(lead)}/"
    assert browser.post(path).status_code == 403
    page = browser.get(path)
    assert browser.post(path, {"csrfmiddlewaretoken": str(page.context["csrf_token"])}).status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED


def test_second_click_on_a_used_link_opens_the_guide_and_enrols_nobody_twice(client: Client) -> None:
    lead = make_lead("twice@example.com", Lead.Status.PENDING)
    path = f"/confirm/{confirm_token_make(lead)}/"
    client.post(path)
    again = client.post(path)
    assert again.status_code == 302 and again["Location"] == "/guide/free/"
    assert client.get(path)["Location"] == "/guide/free/"
    assert ScheduledEmail.objects.filter(lead=lead).count() == 8


def _assert_refused(client: Client, path: str, lead: Lead) -> None:
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert b"no longer works" in response.content
    lead.refresh_from_db()
    assert lead.status != Lead.Status.SUBSCRIBED
    assert not ScheduledEmail.objects.filter(lead=lead).exists()


def test_tampered_token_is_refused(client: Client) -> None:
    lead = make_lead("t@example.com", Lead.Status.PENDING)
    token = confirm_token_make(lead)
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    _assert_refused(client, f"/confirm/{flipped}/", lead)
    _assert_refused(client, "/confirm/not-a-token/", lead)
    other = make_lead("other@example.com", Lead.Status.PENDING)
    # Someone else's token with my id swapped in.
    _, rest = confirm_token_make(other).split("-", 1)
    _assert_refused(client, f"/confirm/{token.split('-')[0]}-{rest}/", lead)


def test_expired_token_is_refused(client: Client) -> None:
    lead = make_lead("old@example.com", Lead.Status.PENDING)
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        token = confirm_token_make(lead)
    _assert_refused(client, f"/confirm/{token}/", lead)


def test_token_for_another_purpose_is_refused(client: Client) -> None:
    lead = make_lead("purpose@example.com", Lead.Status.PENDING)
    signin = tokens.make_state_token("signin", lead_id=lead.pk, state=f"{lead.status}:0")
    _assert_refused(client, f"/confirm/{signin}/", lead)
    _assert_refused(client, f"/confirm/{tokens.sign('preferences', {'lead': lead.pk})}/", lead)


def test_unsubscribed_reader_who_signs_up_again_comes_back_through_the_new_link_only(
        client: Client, mailoutbox: list[Any]) -> None:
    lead = make_lead("back@example.com", Lead.Status.PENDING)
    old_path = f"/confirm/{confirm_token_make(lead)}/"
    lead_unsubscribe(lead=lead)
    # An old link must not undo the unsubscribe.
    _assert_refused(client, old_path, lead)

    client.post("/signup/", form_data(email="back@example.com"))
    dispatch_batch()
    new_path = _confirm_path(mailoutbox[-1])
    assert b"Welcome back" in client.get(new_path).content
    assert client.post(new_path).status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED
    assert ScheduledEmail.objects.filter(lead=lead, stream="marketing").count() == 8


def test_confirm_email_renders_with_the_reminder_variant(client: Client, mailoutbox: list[Any],
                                                         settings: Any) -> None:
    from funnel.landing.services import confirm_reminders_queue

    lead = make_lead("remind@example.com", Lead.Status.PENDING, created_at=timezone.now() - timedelta(hours=25))
    assert confirm_reminders_queue() == 1
    dispatch_batch()
    (mail,) = mailoutbox
    assert "waiting" in mail.subject
    assert client.post(_confirm_path(mail)).status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED

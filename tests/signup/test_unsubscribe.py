"""RFC 8058 one-click unsubscribe: a bare POST, no cookies, no CSRF, idempotent; a GET never unsubscribes."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from emails.dispatch import dispatch_batch
from emails.models import ScheduledEmail
from emails.services import sequence_enrol
from leads import tokens
from leads.models import ConsentRecord, Lead
from tests.signup.conftest import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead() -> Lead:
    return make_lead("list@example.com", confirmed_at=timezone.now())


def _path(lead: Lead) -> str:
    return f"/u/{tokens.sign('unsubscribe', {'lead': lead.pk})}/"


def _one_click(path: str) -> Any:
    # What a mailbox provider sends: no cookie, no CSRF token, just the RFC 8058 body.
    bare = Client(enforce_csrf_checks=True)
    return bare.generic("POST", path, b"List-Unsubscribe=One-Click",
                        content_type="application/x-www-form-urlencoded")


def test_bare_one_click_post_unsubscribes_and_is_idempotent(lead: Lead) -> None:
    path = _path(lead)
    assert _one_click(path).status_code == 200
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED and lead.unsubscribed_at
    first_at = lead.unsubscribed_at
    assert _one_click(path).status_code == 200
    lead.refresh_from_db()
    assert lead.unsubscribed_at == first_at
    assert ConsentRecord.objects.filter(lead=lead, action="unsubscribe").count() == 1


def test_a_get_never_unsubscribes(client: Client, lead: Lead) -> None:
    page = client.get(_path(lead))
    assert page.status_code == 200 and b"Unsubscribe me" in page.content
    client.head(_path(lead))
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED


def test_the_button_on_the_page_unsubscribes_and_asks_why(client: Client, lead: Lead) -> None:
    done = client.post(_path(lead), {"List-Unsubscribe": "One-Click"})
    assert b"You are unsubscribed" in done.content and b"Would you tell us why?" in done.content
    client.post(f"{_path(lead)}reason/", {"reason": "too-many", "detail": "one a week please"})
    lead.refresh_from_db()
    assert lead.unsubscribe_reason == "Too many emails: one a week please"


def test_it_is_effective_immediately_for_the_sequence(lead: Lead, mailoutbox: list[Any]) -> None:
    sequence_enrol(lead=lead)
    _one_click(_path(lead))
    dispatch_batch()
    assert mailoutbox == []
    assert ScheduledEmail.objects.get(lead=lead, step="welcome").status == ScheduledEmail.Status.SKIPPED


@pytest.mark.parametrize("token", [
    lambda lead: tokens.sign("unsubscribe", {"lead": lead.pk})[:-3] + "abc",
    lambda lead: tokens.sign("preferences", {"lead": lead.pk}),
    lambda lead: tokens.sign("upgrade", {"lead": lead.pk, "email": None}),
    lambda lead: "x" * 2000,
])
def test_tampered_or_foreign_tokens_change_nothing(lead: Lead, token: Any) -> None:
    assert _one_click(f"/u/{token(lead)}/").status_code == 400
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SUBSCRIBED


def test_old_unsubscribe_links_keep_working(lead: Lead) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=800)):
        path = _path(lead)
    assert _one_click(path).status_code == 200
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED


def test_links_in_a_real_marketing_email_work(lead: Lead, mailoutbox: list[Any]) -> None:
    """The List-Unsubscribe header and the footer links the drip puts in every email lead to these pages."""
    import re

    sequence_enrol(lead=lead)
    dispatch_batch()
    (welcome,) = mailoutbox
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = re.fullmatch(r"<https?://[^/]+(/u/[^>]+/)>", welcome.extra_headers["List-Unsubscribe"])
    assert one_click
    preferences = re.search(r"https?://[^/\s]+(/preferences/[^/\s]+/)", welcome.body)
    assert preferences
    assert b"list@example.com" in Client().get(preferences.group(1)).content

    assert _one_click(one_click.group(1)).status_code == 200
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED

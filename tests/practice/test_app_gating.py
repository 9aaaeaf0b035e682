"""The app is for buyers: everyone else sees what it does and the upgrade button, and cannot log sessions."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from funnel.models import PracticeSession
from tests.guide.helpers import make_lead, make_refunded_buyer, sign_in

pytestmark = pytest.mark.django_db

APP_PAGES = [reverse("app"), reverse("app-session"), reverse("app-session") + "?area=neck"]


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert "Education, not medical advice." in text
    assert "See a physician when…" in text
    return text


@pytest.mark.parametrize("url", APP_PAGES)
def test_buyer_gets_the_app(client: Client, url: str) -> None:
    sign_in(client, make_lead(buyer=True))
    text = _page(client, url)
    assert "upgrade-button" not in text
    assert "Your practice" in text or "Today's session" in text


@pytest.mark.parametrize("url", APP_PAGES)
@pytest.mark.parametrize("who", ["anonymous", "free-lead", "refunded-buyer"])
def test_non_buyers_get_the_preview(client: Client, url: str, who: str) -> None:
    if who == "free-lead":
        sign_in(client, make_lead())
    elif who == "refunded-buyer":
        sign_in(client, make_refunded_buyer())
    text = _page(client, url)
    assert "upgrade-button" in text
    assert "Your practice" not in text and 'id="session-form"' not in text
    expected = reverse("buy") if who == "anonymous" else "/upgrade/"
    assert f'class="button upgrade-button" href="{expected}' in text


@pytest.mark.parametrize("who", ["anonymous", "free-lead", "refunded-buyer"])
def test_non_buyers_cannot_log_a_session(client: Client, who: str) -> None:
    if who == "free-lead":
        sign_in(client, make_lead())
    elif who == "refunded-buyer":
        sign_in(client, make_refunded_buyer())
    response = client.post(reverse("app-session"), {"area": "neck", "pain_before": "5", "pain_after": "3"})
    assert response.status_code == 403
    assert not PracticeSession.objects.exists()


def test_logging_needs_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    sign_in(client, make_lead(buyer=True))
    response = client.post(reverse("app-session"), {"area": "neck", "pain_before": "5", "pain_after": "3"})
    assert response.status_code == 403
    assert not PracticeSession.objects.exists()

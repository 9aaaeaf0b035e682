"""The full guide: every page carries the notice and the physician box; buyers get everything, others a preview."""

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from funnel.guide import content
from leads import tokens
from leads.models import Lead
from tests.guide.helpers import make_lead, make_refunded_buyer, sign_in

pytestmark = pytest.mark.django_db

# Each page with a phrase only its full (paid) version contains.
PAGES: list[tuple[str, str]] = [
    (reverse("full-guide"), "Start today's session in the app"),
    (reverse("guide-protocol"), "Be careful"),
    (reverse("guide-tools"), "Lacrosse ball"),
    (reverse("guide-areas"), reverse("guide-area", args=["neck"])),
    *[(reverse("guide-area", args=[area.slug]), area.spots[0].where) for area in content.AREAS],
    (reverse("guide-mistakes"), "Instead:"),
    (reverse("guide-plan-7"), "Day 7: Your worst area"),
    (reverse("guide-plan-30"), "Week 4: Make it stick"),
]
PAGE_IDS = [url for url, _ in PAGES]

NOTICE = "Education, not medical advice."
PHYSICIAN = "See a physician when…"


def _text(response: Any) -> str:  # the test client's response type
    # Unescaped, so phrases from the content module match whatever the template escaped (apostrophes).
    return html_lib.unescape(response.content.decode())


def _upgrade_href(html: str) -> str:
    match = re.search(r'class="button upgrade-button" href="([^"]+)"', html)
    assert match, "no upgrade button on the page"
    return match.group(1)


def _assert_safety(html: str) -> None:
    assert NOTICE in html
    assert PHYSICIAN in html
    for flag in ("numbness", "weakness", "loss of bladder or bowel control", "fever",
                 "pain after a fall", "night that does not ease"):
        assert flag in html, flag


@pytest.mark.parametrize(("url", "full_marker"), PAGES, ids=PAGE_IDS)
def test_buyer_reads_every_page_in_full(client: Client, url: str, full_marker: str) -> None:
    sign_in(client, make_lead(buyer=True))
    response = client.get(url)
    assert response.status_code == 200
    html = _text(response)
    _assert_safety(html)
    assert full_marker in html
    assert "upgrade-button" not in html
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(("url", "full_marker"), PAGES, ids=PAGE_IDS)
def test_anonymous_visitor_sees_a_preview_and_the_buy_button(client: Client, url: str, full_marker: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    html = _text(response)
    _assert_safety(html)
    assert full_marker not in html
    assert _upgrade_href(html) == reverse("buy")
    assert reverse("signin") in html  # a buyer on a new device can get back in


@pytest.mark.parametrize(("url", "full_marker"), PAGES[:4], ids=PAGE_IDS[:4])
def test_signed_in_free_lead_gets_an_upgrade_link_for_themselves(client: Client, url: str, full_marker: str) -> None:
    lead = make_lead()
    sign_in(client, lead)
    html = _text(client.get(url))
    _assert_safety(html)
    assert full_marker not in html
    href = _upgrade_href(html)
    token = href.removeprefix("/upgrade/").rstrip("/")
    assert href == reverse("upgrade", args=[token])
    assert tokens.unsign("upgrade", token) == {"lead": lead.pk, "email": None}


def test_refund_ends_the_buyers_access_even_in_an_open_session(client: Client) -> None:
    lead = make_lead(buyer=True)
    sign_in(client, lead)
    assert "Lacrosse ball" in _text(client.get(reverse("guide-tools")))
    from leads.services import lead_revoke_access

    lead_revoke_access(lead=lead)
    html = _text(client.get(reverse("guide-tools")))
    assert "Lacrosse ball" not in html
    assert "upgrade-button" in html


@pytest.mark.parametrize("make", [make_refunded_buyer, lambda: Lead.objects.create(
    email="pending@example.com", status=Lead.Status.PENDING)], ids=["refunded-buyer", "unconfirmed-lead"])
def test_signed_in_non_buyers_see_the_preview(client: Client, make: Callable[[], Lead]) -> None:
    lead = make()
    sign_in(client, lead)  # e.g. signed in again after the refund
    html = _text(client.get(reverse("guide-protocol")))
    _assert_safety(html)
    assert "Be careful" not in html
    assert _upgrade_href(html).startswith("/upgrade/")


def test_unknown_area_is_404(client: Client) -> None:
    sign_in(client, make_lead(buyer=True))
    assert client.get("/guide/areas/elbow/").status_code == 404


def test_the_free_guide_url_is_not_taken_by_the_paid_guide() -> None:
    from django.urls import resolve

    assert resolve("/guide/free/").url_name == "free-guide"
    assert resolve("/guide/").url_name == "full-guide"


def test_area_page_shows_origins_spots_heat_and_stretches_in_order(client: Client) -> None:
    sign_in(client, make_lead(buyer=True))
    html = _text(client.get(reverse("guide-area", args=["low-back"])))
    positions = [html.index(marker) for marker in (
        "Where the pain usually starts", "Quadratus lumborum", "1. Release spots", "2. Moist heat placement",
        "3. Stretch sequence", "Knees to chest")]
    assert positions == sorted(positions)
    assert f"{reverse('app-session')}?area=low-back" in html


def test_seven_day_plan_follows_the_shared_schedule() -> None:
    assert [day.area_slug for day in content.PLAN_7_DAYS] == [
        "low-back", "hips", "glutes", "neck", "shoulders", "mid-back", ""]
    assert "QL" in content.PLAN_7_DAYS[0].title and "hip flexors" in content.PLAN_7_DAYS[1].title
    assert content.plan_day(12).number == 7

"""Without JavaScript the session page is a plain checklist form that posts and logs."""

import html
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags

from funnel.models import PracticeSession
from tests.guide.helpers import make_lead, sign_in

pytestmark = pytest.mark.django_db


def _text(response: Any) -> str:  # the test client's response type
    return html.unescape(response.content.decode())


def _visible(markup: str) -> str:
    """Roughly what a reader sees: tags gone, whitespace collapsed."""
    return " ".join(strip_tags(markup).split())


def test_the_whole_session_as_a_checklist(client: Client) -> None:
    lead = make_lead(buyer=True, time_zone="America/Denver")
    sign_in(client, lead)

    # The picker suggests day 1 of the plan.
    picker = _text(client.get(reverse("app-session")))
    assert re.search(r'value="low-back" checked', picker)
    assert "day 1: <strong>Lower back: the QL</strong>" in picker

    form = _text(client.get(reverse("app-session"), {"area": "low-back"}))
    # Every step is on the page, in order, as checkboxes: it works with nothing but HTML.
    markers = ("How much does it hurt right now?", "Step 1 · Release", "Step 2 · Moist heat", "Step 3 · Stretch",
               "How much does it hurt now?")
    order = [form.index(marker) for marker in markers]
    assert order == sorted(order)
    for field in ('name="spots" value="ql"', 'name="spots" value="glute-upper"', 'name="heat_done"',
                  'name="heat_minutes"', 'name="stretches" value="knees-to-chest"', 'type="submit"'):
        assert field in form
    assert "Order matters" in form  # the explanation is printed for the checklist too

    # 01:30 UTC on the 25th is still the evening of the 24th in Denver: that is the day it counts for.
    with time_machine.travel(datetime(2026, 11, 25, 1, 30, tzinfo=UTC), tick=False):
        response = client.post(reverse("app-session"), {
            "area": "low-back", "pain_before": "6", "pain_after": "3",
            "spots": ["ql", "glute-upper"], "heat_done": "on", "heat_minutes": "18",
            "stretches": ["knees-to-chest", "side-bend"],
            "release_seconds": "0", "heat_seconds": "0", "stretch_seconds": "0",
        })
        assert response.status_code == 302 and response["Location"] == reverse("app")
        session = PracticeSession.objects.get(lead=lead)
        assert session.local_date == date(2026, 11, 24)
        assert session.areas == ["low-back"]
        assert session.steps_done == ["release", "heat", "stretch"]
        assert session.items_done == ["ql", "glute-upper", "knees-to-chest", "side-bend"]
        assert session.heat_seconds == 18 * 60
        assert (session.pain_before, session.pain_after) == (6, 3)

        home = _text(client.get(reverse("app")))
    assert "Session logged: pain 6 → 3." in home
    assert "1 day in a row" in _visible(home)
    assert "7-day plan: 1 of 7 days done" in _visible(home)
    assert "Tue 24 Nov: before 6" in home and "Tue 24 Nov: after 3" in home  # the chart's point titles
    assert re.search(r"<th scope=\"row\">Tue 24 Nov</th><td>6</td><td>3</td>", home)  # and the table


def test_a_session_without_pain_ratings_is_not_logged(client: Client) -> None:
    sign_in(client, make_lead(buyer=True))
    response = client.post(reverse("app-session"), {"area": "neck", "pain_before": "5", "spots": ["suboccipitals"]})
    assert response.status_code == 400
    assert "pain before and after are both needed" in _text(response)
    assert 'value="suboccipitals" checked' in _text(response)  # what was ticked is kept
    assert not PracticeSession.objects.exists()


@pytest.mark.parametrize("bad", [
    {"spots": ["ql"]},  # a low-back spot on a neck session
    {"pain_after": "11"},
    {"heat_seconds": "999999"},
])
def test_out_of_range_answers_are_refused(client: Client, bad: dict[str, object]) -> None:
    sign_in(client, make_lead(buyer=True))
    data: dict[str, object] = {"area": "neck", "pain_before": "5", "pain_after": "3", **bad}
    assert client.post(reverse("app-session"), data).status_code == 400
    assert not PracticeSession.objects.exists()


def test_unknown_areas_fall_back_to_the_picker(client: Client) -> None:
    sign_in(client, make_lead(buyer=True))
    text = _text(client.get(reverse("app-session"), {"area": "elbow"}))
    assert "Where does it hurt?" in text and 'id="session-form"' not in text


def test_starting_without_an_area_asks_for_one(client: Client) -> None:
    sign_in(client, make_lead(buyer=True))
    assert "Pick at least one area" not in _text(client.get(reverse("app-session")))
    text = _text(client.get(reverse("app-session"), {"picked": "1"}))
    assert "Pick at least one area to start." in text and 'id="session-form"' not in text


def test_a_script_cannot_flood_the_log(client: Client) -> None:
    from funnel.practice.services import MAX_SESSIONS_PER_DAY

    lead = make_lead(buyer=True)
    sign_in(client, lead)
    data = {"area": "neck", "pain_before": "5", "pain_after": "3"}
    for _ in range(MAX_SESSIONS_PER_DAY + 2):
        client.post(reverse("app-session"), data)
    assert PracticeSession.objects.filter(lead=lead).count() == MAX_SESSIONS_PER_DAY
    assert "this one was not logged" in _text(client.get(reverse("app")))

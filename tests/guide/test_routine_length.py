"""The routine's length is one figure, from the three steps, on every page, in the guide, the app and the emails."""

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.rendering import render_email
from funnel.guide import content
from tests.guide.helpers import make_lead, sign_in

pytestmark = pytest.mark.django_db

# Any statement of how long the whole routine (not one step) takes.
LENGTH = re.compile(r"(\S+)(?: |-)minutes? (?:a day|daily|routine|today)|routine of (?:about )?(\S+) minutes"
                    r"|(?:each session|once a day,) (?:about )?(\S+) minutes|(?i:twenty|fifteen|thirty)[ -]minutes?",
                    re.IGNORECASE)
# How templates and code print the one figure.
THE_FIGURE = ("{% routine_minutes %}", "{content.ROUTINE_MINUTES}")


def _lengths(text: str) -> list[str]:
    return [next((g for g in match.groups() if g), match.group(0)) for match in LENGTH.finditer(text)]


def _text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_figure_adds_up_the_steps() -> None:
    assert content.ROUTINE_MINUTES == "25–30"
    assert content.ROUTINE_MIN_MINUTES == content.RELEASE_MINUTES + content.HEAT_MIN_MINUTES + content.STRETCH_MINUTES
    assert content.ROUTINE_MAX_MINUTES == content.RELEASE_MINUTES + content.HEAT_MAX_MINUTES + content.STRETCH_MINUTES


@pytest.mark.parametrize(("path", "buyer"), [("/", False), ("/guide/free/", False), ("/guide/", False),
                                             ("/guide/", True), ("/guide/plan/7-days/", False),
                                             ("/guide/plan/7-days/", True), ("/app/", False)])
def test_pages_state_the_one_figure(client: Client, path: str, buyer: bool) -> None:
    if buyer:
        sign_in(client, make_lead(buyer=True))
    response = client.get(path)
    page = response.content.decode()
    stated = _lengths(_text(response)) + _lengths(html.unescape(" ".join(re.findall(r'content="([^"]*)"', page))))
    assert stated and set(stated) == {"25–30"}, stated


def test_the_welcome_and_a_reminder_state_the_same_figure() -> None:
    lead = make_lead(buyer=True)
    welcome = ScheduledEmail.objects.create(lead=lead, step="welcome", send_at=timezone.now(),
                                            stream=ScheduledEmail.Stream.MARKETING)
    rendered = render_email(lead, welcome, reuse_step_render=False)
    for part in (rendered.text, _text(type("R", (), {"content": rendered.html.encode()}))):
        assert set(_lengths(part)) == {"25–30"}, _lengths(part)

    # A buyer who logged before but not yesterday is nudged with the same figure.
    from funnel.models import PracticeSession
    from funnel.practice.selectors import lead_today

    PracticeSession.objects.create(lead=lead, local_date=lead_today(lead) - timedelta(days=3), areas=["neck"])
    day = ScheduledEmail.objects.create(lead=lead, step="day-3", send_at=timezone.now(),
                                        stream=ScheduledEmail.Stream.MARKETING)
    assert set(_lengths(render_email(lead, day, reuse_step_render=False).text)) == {"25–30"}


def test_no_other_figure_is_left_in_the_sources() -> None:
    root = Path(settings.BASE_DIR)
    sources = [*(root / "templates").rglob("*.html"), *(root / "templates").rglob("*.txt"),
               *(root / "static/js").rglob("*.js"), root / "funnel/guide/content.py", root / "funnel/guide/free.py",
               *(root / "funnel/guide/data").glob("*.toml"),
               root / "funnel/practice/email_context.py"]
    for path in sources:
        source = path.read_text()
        for spelling in THE_FIGURE:
            source = source.replace(spelling, "THE-FIGURE")
        assert set(_lengths(source)) <= {"THE-FIGURE"}, path

"""The guided session end to end in headless Chromium, with the browser's clock under the test's control."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from funnel.models import PracticeSession
from funnel.practice.selectors import lead_today
from tests.guide.helpers import browser_session_cookie, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def _seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


# The server's "today" (the streak, the day the session is logged for) is the browser's: both at T0, ticking.
@time_machine.travel(T0)
def test_a_whole_guided_session(page: Any, live_server: Any) -> None:
    lead = make_lead(buyer=True, time_zone="America/New_York")
    today = lead_today(lead)
    for back, (before, after) in ((1, (7, 5)), (2, (7, 6))):
        PracticeSession.objects.create(lead=lead, local_date=today - timedelta(days=back), areas=["low-back"],
                                       pain_before=before, pain_after=after)
    page.context.add_cookies([browser_session_cookie(lead, live_server.url)])
    page.clock.install(time=T0)

    page.goto(f"{live_server.url}/app/")
    expect(page.locator(".streak")).to_have_text(re.compile(r"2\s+days in a row"))
    expect(page.locator("svg.pain-chart")).to_have_attribute("data-logged-days", "2")
    page.get_by_role("link", name="Start today's session").click()  # plan day 3: glutes

    expect(page.get_by_role("heading", level=1)).to_have_text("Today's session: glutes")
    # From here on the clock only moves when the test moves it.
    page.clock.pause_at(T0 + timedelta(seconds=10))
    release = page.locator('[data-step="release"]')
    expect(release).to_be_hidden()  # one step at a time
    page.locator("#pain-pain_before").get_by_role("radio", name="6", exact=True).check()
    page.get_by_role("button", name="Start the release →").click()
    expect(release).to_be_visible()

    # Jumping ahead explains why the order matters, and lets the user go back.
    page.locator(".stepper").get_by_role("button", name="3 Stretch").click()
    warning = page.get_by_role("alertdialog", name="Order matters")
    expect(warning).to_contain_text("Stretching a muscle that is still guarding")
    page.get_by_role("button", name="Go back to release").click()
    expect(warning).to_be_hidden()

    runner = release.locator(".runner")
    expect(runner.get_by_role("heading")).to_have_text("Spot 1 of 2: Piriformis, centre of the buttock")
    runner.get_by_role("button", name="Start hold").click()
    page.clock.run_for(20_000)
    expect(runner.locator(".clock")).to_have_text("0:20")
    # The spot softened after 20 seconds: end the hold early, from the keyboard (focus moved to that button).
    expect(runner.get_by_role("button", name="It softened — next spot")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".live")).to_have_text(re.compile("Piriformis.*done after 0:20"))
    expect(release.locator('input[value="piriformis"]')).to_be_checked()
    expect(runner.get_by_role("heading")).to_have_text("Spot 2 of 2: Gluteus maximus, lower buttock")
    runner.get_by_role("button", name="Start hold").click()
    page.clock.run_for(91_000)  # nothing softened: the hold stops itself at 90 seconds
    expect(runner).to_contain_text("Release done")
    page.get_by_role("button", name="On to moist heat →").click()

    heat = page.locator('[data-step="heat"]')
    heat.get_by_role("button", name="Start heat timer").click()
    page.clock.run_for(60_000)
    expect(heat.locator(".clock")).to_have_text("1:00")
    # The phone locks for 15 minutes: timers stop firing, then the page wakes up once.
    page.clock.fast_forward("15:00")
    expect(heat.locator(".clock")).to_have_text("16:00")
    expect(heat.locator(".hint")).to_contain_text("15 minutes reached")
    heat.get_by_role("button", name="Heat done").click()
    expect(heat.locator(".runner")).to_contain_text("Heat done (16:00)")
    page.get_by_role("button", name="On to the stretches →").click()

    stretch = page.locator('[data-step="stretch"]')
    runner = stretch.locator(".runner")
    expect(runner.get_by_role("heading")).to_have_text("Stretch 1 of 2: Piriformis stretch")
    runner.get_by_role("button", name="Start stretch").click()
    page.clock.run_for(10_000)
    expect(runner.locator(".clock")).to_have_text("0:50")  # 30 s a side, counting down
    expect(runner.locator(".hint")).to_have_text("Left side.")
    page.clock.run_for(25_000)
    expect(runner.locator(".hint")).to_have_text("Right side: switch now.")
    page.clock.run_for(26_000)
    expect(runner.get_by_role("heading")).to_have_text("Stretch 2 of 2: Seated twist")
    runner.get_by_role("button", name="Start stretch").click()
    page.clock.run_for(5_000)
    runner.get_by_role("button", name="Done — next").click()
    expect(runner).to_contain_text("Stretches done")
    page.get_by_role("button", name="Rate your pain now →").click()

    page.locator("#pain-pain_after").get_by_role("radio", name="3", exact=True).check()
    page.get_by_role("button", name="Log this session").click()

    expect(page.locator(".flash")).to_have_text("Session logged: pain 6 → 3.")
    expect(page.locator(".streak")).to_have_text(re.compile(r"3\s+days in a row"))
    expect(page.locator("svg.pain-chart")).to_have_attribute("data-logged-days", "3")
    expect(page.locator("svg.pain-chart rect.mark-after title").last).to_have_text(
        f"{today.strftime('%a %-d %b')}: after 3")
    expect(page.locator(".plan-progress")).to_contain_text("3 of 7 days")

    session = PracticeSession.objects.get(lead=lead, local_date=today)
    assert session.areas == ["glutes"]
    assert session.steps_done == ["release", "heat", "stretch"]
    assert session.items_done == ["piriformis", "glute-max", "piriformis-stretch", "seated-twist"]
    assert session.release_seconds == 20 + 90
    assert session.heat_seconds == 16 * 60
    assert session.stretch_seconds == 60 + 5
    assert (session.pain_before, session.pain_after) == (6, 3)


def test_the_heat_timer_survives_a_reload(page: Any, live_server: Any) -> None:
    """A phone may discard a backgrounded tab; coming back reloads the page, and the heat keeps its start."""
    lead = make_lead(buyer=True)
    page.context.add_cookies([browser_session_cookie(lead, live_server.url)])
    page.clock.install(time=T0)
    page.goto(f"{live_server.url}/app/session/?area=neck")
    page.clock.pause_at(T0 + timedelta(seconds=10))
    page.locator("#pain-pain_before").get_by_role("radio", name="4", exact=True).check()
    page.locator(".stepper").get_by_role("button", name="2 Heat").click()
    page.get_by_role("button", name="Skip ahead anyway").click()
    heat = page.locator('[data-step="heat"]')
    heat.get_by_role("button", name="Start heat timer").click()
    page.clock.run_for(120_000)
    expect(heat.locator(".clock")).to_have_text("2:00")

    page.reload()
    page.clock.run_for(1_000)
    expect(heat).to_be_visible()
    elapsed = _seconds(heat.locator(".clock").inner_text())
    assert 121 <= elapsed <= 125
    expect(page.locator('input[name="pain_before"][value="4"]')).to_be_checked()  # on the hidden "before" step

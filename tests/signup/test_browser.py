"""Real Chromium: sign up through the real form, with and without JavaScript, on a phone and a desktop."""

import os
from pathlib import Path
from typing import Any

import pytest

from leads.models import ConsentRecord, Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_rate_limit_on_loopback(settings: Any) -> None:
    # Every browser signup comes from 127.0.0.1; the limit itself is tested in test_signup.py.
    settings.SIGNUP_RATE_LIMIT = "100000/h"


def _sign_up(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/?utm_source=browser-test")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("First name").fill("Zoë")
    page.get_by_label("Yes, email me the free").check()
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_url(f"{base}/thanks/")


def test_sign_up_through_the_real_form_lands_on_the_thank_you_page(page: Any, live_server: Any) -> None:
    _sign_up(page, live_server.url, "browser@example.com")
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you — check your inbox"
    lead = Lead.objects.get(email="browser@example.com")
    assert (lead.first_name, lead.utm_source, lead.status) == ("Zoë", "browser-test", Lead.Status.PENDING)
    assert ConsentRecord.objects.get(lead=lead).ip_address == "127.0.0.1"


def test_javascript_fills_the_time_zone_and_the_form_works_without_it(browser: Any, live_server: Any,
                                                                      settings: Any) -> None:
    with_js = browser.new_context(timezone_id="Asia/Tokyo")
    _sign_up(with_js.new_page(), live_server.url, "tokyo@example.com")
    with_js.close()
    assert Lead.objects.get(email="tokyo@example.com").time_zone == "Asia/Tokyo"

    no_js = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    _sign_up(no_js.new_page(), live_server.url, "nojs@example.com")
    no_js.close()
    assert Lead.objects.get(email="nojs@example.com").time_zone == settings.DRIP_DEFAULT_TIME_ZONE


def test_errors_are_shown_next_to_the_fields(page: Any, live_server: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_load_state()
    # The answer is just the form, so a phone shows the problem on the first screen, not the top of a long page.
    assert page.locator("#email-error").is_visible()
    box = page.locator("#email-error").bounding_box()
    assert box is not None and 0 <= box["y"] <= 844
    assert page.locator("#email-error").inner_text().startswith("That address is missing its @ part")
    assert page.locator("#consent-error").is_visible()
    assert page.get_by_label("Email address").get_attribute("aria-invalid") == "true"
    assert not Lead.objects.exists()


def test_keyboard_only_signup(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/#signup")
    page.get_by_label("Email address").focus()
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")  # first name
    page.keyboard.press("Tab")  # the time zone
    assert page.evaluate("document.activeElement.id") == "id_time_zone"
    page.keyboard.press("Tab")  # the honeypot is skipped (tabindex=-1): straight to the consent box
    assert page.evaluate("document.activeElement.id") == "id_consent"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/thanks/")
    assert Lead.objects.filter(email="keys@example.com").exists()


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 800)])
def test_landing_fits_phone_and_desktop(browser: Any, live_server: Any, tmp_path: Path, name: str, width: int,
                                        height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(live_server.url + "/")
    # Nothing wider than the screen (no sideways scrolling on a phone).
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The way to sign up is on the first screen: the form itself on a desktop, a button that jumps to it on a phone.
    first_screen = (page.get_by_label("Email address") if width >= 1024
                    else page.get_by_role("link", name="Get the free quick reference"))
    box = first_screen.bounding_box()
    assert first_screen.is_visible() and box is not None and box["y"] + box["height"] <= height
    out = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    page.screenshot(path=str(out / f"h3-landing-{name}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_free_guide_prints_on_one_page(page: Any, live_server: Any, paper: str) -> None:
    import re

    page.goto(live_server.url + "/guide/free/?welcome=1")
    pdf = page.pdf(format=paper, print_background=True)
    out = os.environ.get("SCREENSHOT_DIR")
    if out:
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 740, "height": 980})
        page.screenshot(path=str(Path(out, f"h3-free-guide-print-{paper}.png")), full_page=True)
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(Path(out, "h3-free-guide-phone.png")), full_page=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"{pages} pages on {paper}"

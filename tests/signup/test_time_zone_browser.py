"""The time zone choice in real Chromium: chosen by hand without JavaScript, pre-selected from the browser with it."""

from typing import Any

import pytest

from leads.models import Lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_rate_limit_on_loopback(settings: Any) -> None:
    settings.SIGNUP_RATE_LIMIT = "100000/h"


def _sign_up(page: Any, base: str, email: str, zone: str | None = None) -> None:
    page.goto(base + "/")
    page.get_by_label("Email address").fill(email)
    if zone:
        page.get_by_label("Your time zone").select_option(zone)
    page.get_by_label("Yes, email me the free").check()
    page.get_by_role("button", name="Email me the free guide").click()
    page.wait_for_url(base + "/thanks/")


def test_without_javascript_the_chosen_zone_is_stored(browser: Any, live_server: Any, settings: Any) -> None:
    context = browser.new_context(java_script_enabled=False, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(live_server.url + "/")
    # Nothing guesses without JavaScript: the default is shown, visibly, for the reader to change.
    assert page.get_by_label("Your time zone").input_value() == settings.DRIP_DEFAULT_TIME_ZONE
    _sign_up(page, live_server.url, "berlin-nojs@example.com", zone="Europe/Berlin")
    context.close()
    assert Lead.objects.get(email="berlin-nojs@example.com").time_zone == "Europe/Berlin"


def test_with_javascript_the_browser_zone_is_preselected_even_an_old_alias(browser: Any, live_server: Any) -> None:
    context = browser.new_context(timezone_id="Asia/Kolkata")
    page = context.new_page()
    page.goto(live_server.url + "/")
    reported = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")  # Chromium says Asia/Calcutta
    assert page.get_by_label("Your time zone").input_value() == reported
    _sign_up(page, live_server.url, "india@example.com")
    context.close()
    assert Lead.objects.get(email="india@example.com").time_zone == reported

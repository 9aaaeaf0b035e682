"""What keyboard users, people with large text and phone users meet, measured in Chromium: the focus ring's
contrast, the step bar with large text, the "Order matters" dialog and Escape, tap targets, chart labels, and the
print button without inline script."""

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.a11y.helpers import focus_ring_contrast, overflow, set_default_font_size

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus: the keyboard's own way there, so :focus-visible applies."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("selector", [
    ".skip",  # on white
    ".hero .button",  # on white
    "#id_email",  # on the signup card
    "#id_time_zone",  # on the signup card
    "#id_consent",  # on the signup card
    ".signup button[type=submit]",  # on the signup card
])
def test_focus_ring_contrast_on_the_landing_page(page: Any, live_server: Any, selector: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # the phone layout shows the hero button too
    page.goto(live_server.url + "/")
    _tab_to(page, selector)
    ratio, colours = focus_ring_contrast(page, selector)
    assert ratio >= 3, f"{selector}: focus ring {colours} is {ratio:.2f}:1"


def test_focus_ring_contrast_on_the_pain_scale(page: Any, live_server: Any, buyer_cookie: dict[str, Any]) -> None:
    page.context.add_cookies([buyer_cookie])
    page.goto(live_server.url + "/app/session/?area=neck")
    _tab_to(page, "input[name=pain_before]")
    page.keyboard.press("ArrowRight")  # radios move with arrow keys; the ring is drawn on the number's box
    ring = "input[name=pain_before]:focus-visible + span"
    ratio, colours = focus_ring_contrast(page, ring)
    assert ratio >= 3, f"pain scale focus ring {colours} is {ratio:.2f}:1"


def test_large_text_follows_the_browser_and_the_step_bar_fits_a_phone(
        page: Any, live_server: Any, buyer_cookie: dict[str, Any]) -> None:
    page.context.add_cookies([buyer_cookie])
    page.set_viewport_size({"width": 390, "height": 844})
    set_default_font_size(page, 24)  # the browser's "very large" text, 150 % of the default
    page.goto(live_server.url + "/app/session/?area=low-back")
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "25.5px"  # 1.0625rem of 24px
    buttons = page.locator(".stepper button")
    expect(buttons).to_have_count(5)
    for index in range(5):
        box = buttons.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, buttons.nth(index).inner_text()
    assert overflow(page) == []


def test_order_dialog_closes_on_escape(page: Any, live_server: Any, buyer_cookie: dict[str, Any]) -> None:
    page.context.add_cookies([buyer_cookie])
    page.goto(live_server.url + "/app/session/?area=low-back")
    page.locator("#pain-pain_before").get_by_role("radio", name="4", exact=True).check()
    stretch = page.locator(".stepper").get_by_role("button", name="3 Stretch")
    stretch.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("alertdialog", name="Order matters")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("button", name="Go back to release")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(stretch).to_be_focused()  # back where the reader was
    expect(page.locator('[data-step="before"]')).to_be_visible()  # and still on the same step


@pytest.mark.parametrize(("path", "name"), [("/app/", "Choose a different area"),
                                            ("/app/session/?area=neck", "Change area")])
def test_small_links_are_44px_tap_targets(page: Any, live_server: Any, buyer_cookie: dict[str, Any], path: str,
                                         name: str) -> None:
    page.context.add_cookies([buyer_cookie])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + path)
    box = page.get_by_role("link", name=name).bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, box


@pytest.mark.parametrize("width", [320, 390])
def test_chart_labels_are_readable_on_a_phone(page: Any, live_server: Any, buyer_cookie: dict[str, Any],
                                              width: int) -> None:
    page.context.add_cookies([buyer_cookie])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_server.url + "/app/")
    # The chart scales with its box: a label's size on screen is its font size times the SVG's scale.
    sizes = page.evaluate("""() => [...document.querySelectorAll('svg.pain-chart text')].map(t =>
        parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)""")
    assert sizes and min(sizes) >= 12, sizes
    legend = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.chart-legend')).fontSize)")
    assert legend >= 12


def test_print_button_needs_no_inline_script(browser: Any, live_server: Any) -> None:
    inline_handlers = """() => [...document.querySelectorAll('*')].flatMap(el =>
        [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name))"""
    with_js = browser.new_context()
    page = with_js.new_page()
    page.goto(live_server.url + "/guide/free/")
    assert page.evaluate(inline_handlers) == []
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print this page").click()
    assert page.evaluate("window.printed") == 1
    with_js.close()

    # Without JavaScript the button could do nothing, so it is not shown (the browser's own Print still works).
    no_js = browser.new_context(java_script_enabled=False)
    page = no_js.new_page()
    page.goto(live_server.url + "/guide/free/")
    expect(page.get_by_role("button", name="Print this page")).to_have_count(0)
    no_js.close()


@pytest.mark.parametrize("width", [1280, 1440])
def test_dashboard_tables_fit_a_desktop_window(page: Any, live_server: Any, staff_cookie: dict[str, Any],
                                               width: int) -> None:
    page.context.add_cookies([staff_cookie])
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/admin/dashboard/")
    assert overflow(page) == []
    # Not even inside their boxes: at these widths every column of every table is in view.
    clipped = page.evaluate("""() => [...document.querySelectorAll('.table-scroll')]
        .filter(box => box.scrollWidth > box.clientWidth).map(box => box.getAttribute('aria-labelledby'))""")
    assert clipped == []
    recompute = page.get_by_role("link", name="recompute now")
    # Told apart from the sentence around it by an underline, not by its colour alone.
    assert "underline" in recompute.evaluate("el => getComputedStyle(el).textDecorationLine")

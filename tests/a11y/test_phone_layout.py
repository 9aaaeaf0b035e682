"""What a phone user sees at 390 px (an iPhone 12 to 15), measured in Chromium: the time-zone select shows its whole
text, the session's step bar keeps its height as the ✓ marks appear, and a link on its own is a target of at least
24 by 24 px (WCAG 2.5.8)."""

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
MIN_TARGET = 24  # WCAG 2.5.8, CSS px

# The room a select gives its text is its content box: the arrow is drawn in its right padding (appearance: none),
# so a label wider than the content box is cut short.
SELECT_TEXT_ROOM = """(select) => {
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d');
    context.font = style.font;
    return {appearance: style.appearance, text: select.options[select.selectedIndex].text,
            textWidth: context.measureText(select.options[select.selectedIndex].text).width,
            room: select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)};
}"""


@pytest.mark.parametrize("who", ["stranger", "reader"])
def test_the_time_zone_select_shows_its_whole_text(page: Any, live_server: Any, preferences_path: str,
                                                   who: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + ("/" if who == "stranger" else preferences_path))
    select = page.locator("#id_time_zone")
    select.select_option("UTC")
    measured = select.evaluate(SELECT_TEXT_ROOM)
    assert measured["text"] == "UTC (Coordinated Universal Time)"
    assert measured["appearance"] == "none", measured
    assert measured["textWidth"] <= measured["room"], measured


def _stepper_rows(page: Any) -> dict[str, Any]:
    """The step bar's height, and the top of each of its buttons (one value: all on one row)."""
    return page.locator(".stepper ol").evaluate("""(list) => ({
        height: list.getBoundingClientRect().height,
        tops: [...new Set([...list.querySelectorAll('button')].map(b => Math.round(b.getBoundingClientRect().top)))],
        labels: [...list.querySelectorAll('button')].map(b => b.textContent + getComputedStyle(b, '::after').content),
    })""")


def _skip_everything(page: Any, step: str, skip: str) -> None:
    section = page.locator(f'[data-step="{step}"]')
    while section.get_by_role("button", name=skip).count():
        section.get_by_role("button", name=skip).click()


def test_the_step_bar_keeps_its_height_as_steps_are_done(page: Any, live_server: Any,
                                                        buyer_cookie: dict[str, Any]) -> None:
    page.context.add_cookies([buyer_cookie])
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/app/session/?area=low-back")
    seen = [_stepper_rows(page)]

    page.locator("#pain-pain_before").get_by_role("radio", name="5", exact=True).check()
    seen.append(_stepper_rows(page))
    page.get_by_role("button", name="Start the release →").click()
    _skip_everything(page, "release", "Skip this spot")
    seen.append(_stepper_rows(page))
    page.get_by_role("button", name="On to moist heat →").click()
    heat = page.locator('[data-step="heat"]')
    heat.get_by_role("button", name="Start heat timer").click()
    heat.get_by_role("button", name="Heat done").click()
    seen.append(_stepper_rows(page))
    heat.locator(".step-next button").click()
    _skip_everything(page, "stretch", "Skip this stretch")
    page.locator('[data-step="stretch"] .step-next button').click()
    expect(page.locator('[data-step="after"]')).to_be_visible()
    seen.append(_stepper_rows(page))

    done = [label for label in seen[-1]["labels"] if "✓" in label]
    assert len(done) == 4, seen[-1]["labels"]  # every step but "After" has its mark
    assert {round(s["height"], 1) for s in seen} == {round(seen[0]["height"], 1)}, seen
    assert all(len(s["tops"]) == 1 for s in seen), seen  # one row throughout


# Links that stand alone in their block (not inside a sentence, where WCAG 2.5.8 excepts them).
STANDALONE_LINKS = """() => [...document.querySelectorAll('main a')]
    .filter(a => a.getClientRects().length && a.parentElement.textContent.trim() === a.textContent.trim())
    .map(a => ({text: a.textContent.trim(), width: a.getBoundingClientRect().width,
                height: a.getBoundingClientRect().height}))"""


@pytest.mark.parametrize("path", ["/app/", "/app/session/"])
def test_links_on_their_own_are_24px_targets(page: Any, live_server: Any, buyer_cookie: dict[str, Any],
                                             path: str) -> None:
    page.context.add_cookies([buyer_cookie])
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + path)
    links = page.evaluate(STANDALONE_LINKS)
    if path == "/app/":
        assert "Open the full guide" in [link["text"] for link in links]
    small = [link for link in links if link["height"] < MIN_TARGET or link["width"] < MIN_TARGET]
    assert small == []


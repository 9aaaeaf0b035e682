"""Every email in Chromium, as a reader on a phone (375 px) and a desktop (600 px) sees it, light and dark.

Nothing may stick out of the window (a reader would have to scroll sideways), text must stay readable in both
schemes, and Outlook.com's dark mode (which marks what it recolours with data-ogsc / data-ogsb) must get our dark
colours. Screenshots land in $EMAIL_SCREENSHOTS_DIR when it is set (to look at them), else in the test's tmp dir.
"""

import os
from pathlib import Path
from typing import Any

import pytest

from .emails_all import all_steps, render_step

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = (600, 375)
# (label, prefers-color-scheme, Outlook.com's dark-mode markers on the body)
SCHEMES = (("light", "light", False), ("dark", "dark", False), ("outlook-dark", "light", True))

MEASURE = """() => {
    const width = window.innerWidth;
    const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const wide = [...document.body.querySelectorAll('*')].filter(visible).filter((el) => {
        const r = el.getBoundingClientRect();
        return r.right > width + 0.5 || r.left < -0.5;
    }).map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().left)}..`
                   + `${Math.round(el.getBoundingClientRect().right)}`);
    // The colour behind an element: the first ancestor-or-self with an opaque background.
    const background = (el) => {
        for (let node = el; node; node = node.parentElement) {
            const bg = getComputedStyle(node).backgroundColor;
            if (bg && bg !== 'transparent' && !bg.startsWith('rgba(0, 0, 0, 0')) return bg;
        }
        return 'rgb(255, 255, 255)';
    };
    const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const pairs = [...document.body.querySelectorAll('*')].filter(visible).filter(ownText)
        .map((el) => [el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 40),
                      getComputedStyle(el).color, background(el)]);
    const button = document.querySelector('a.button');
    const card = document.querySelector('.card');
    const footer = document.querySelector('.footer-text p');
    return {scrollWidth: document.documentElement.scrollWidth, width, wide, pairs,
            button: button && visible(button) ? button.textContent.trim() : null,
            card: card ? getComputedStyle(card).backgroundColor : null,
            footer: footer ? getComputedStyle(footer).color : null,
            // The preheader: there for the inbox list, never on screen.
            preheader: document.querySelector('.preheader').textContent.trim().slice(0, 60),
            preheaderShown: visible(document.querySelector('.preheader'))};
}"""


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed CSS colours ("rgb(r, g, b)")."""
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted([luminance(fg), luminance(bg)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EMAIL_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("step", all_steps())
def test_every_email_fits_phone_and_desktop_and_reads_in_light_and_dark(step: str, make_lead: Any, browser: Any,
                                                                        tmp_path: Path) -> None:
    lead = make_lead(first_name="Maximiliane-Josephine", time_zone="Europe/Berlin", is_customer=step == "access")
    html = render_step(lead, step).html
    page_file = tmp_path / f"{step}.html"
    page_file.write_text(html)
    shots = screenshots(tmp_path)
    context = browser.new_context()
    try:
        page = context.new_page()
        for width in WIDTHS:
            for label, scheme, outlook_dark in SCHEMES:
                page.set_viewport_size({"width": width, "height": 800})
                page.emulate_media(color_scheme=scheme)
                page.goto(page_file.as_uri())
                if outlook_dark:  # Outlook.com marks the message's container; its html element stands in
                    page.evaluate("() => { document.documentElement.setAttribute('data-ogsc', '');"
                                  " document.documentElement.setAttribute('data-ogsb', ''); }")
                seen = page.evaluate(MEASURE)
                page.screenshot(path=str(shots / f"{step}-{width}-{label}.png"), full_page=True)
                where = f"{step} at {width} px, {label}"

                assert seen["scrollWidth"] <= width, f"{where}: scrolls sideways ({seen['scrollWidth']} px)"
                assert not seen["wide"], f"{where}: wider than the window: {seen['wide'][:5]}"
                # The call to action, where the email has one, is on screen (inside it, as checked above).
                assert seen["button"] or 'class="button"' not in html, f"{where}: the button is hidden"
                assert seen["preheader"] and not seen["preheaderShown"], f"{where}: preheader {seen['preheader']!r}"
                unreadable = [(text, fg, bg, round(contrast(fg, bg), 2)) for text, fg, bg in seen["pairs"]
                              if contrast(fg, bg) < 4.5]
                assert not unreadable, f"{where}: text under WCAG AA contrast: {unreadable[:5]}"
                dark = label != "light"
                assert (contrast(seen["card"], "rgb(0, 0, 0)") < 3) == dark, f"{where}: card {seen['card']}"
                # The footer keeps its own grey in dark mode, not the client's guess or the body's white.
                assert seen["footer"] == ("rgb(168, 168, 168)" if dark else "rgb(90, 95, 102)"), where
    finally:
        context.close()


def test_the_receipt_date_stays_on_one_line(make_lead: Any, browser: Any, tmp_path: Path) -> None:
    lead = make_lead(time_zone="Europe/Berlin", is_customer=True)
    page_file = tmp_path / "access.html"
    page_file.write_text(render_step(lead, "access").html)
    context = browser.new_context()
    try:
        page = context.new_page()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(page_file.as_uri())
            lines = page.evaluate("""() => [...document.querySelectorAll('.receipt td.value')].map((td) => {
                const range = document.createRange();
                range.selectNodeContents(td);
                const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                return [td.textContent.trim(), tops.size];
            })""")
            assert ["September 30, 2026", 1] in lines, (width, lines)
            assert all(count == 1 for _text, count in lines), (width, lines)
    finally:
        context.close()

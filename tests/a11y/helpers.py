"""Measuring what a reader meets, in the browser: axe-core's verdict, contrast computed from rendered colours,
sideways scrolling, and the browser's own default font size (the "large text" setting)."""

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe

# WCAG 2.1 A and AA; axe's "best-practice" rules are advice, not the standard the issue holds us to.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_axe = Axe()

# 200 % zoom in a 1280 px wide window lays the page out in 640 CSS px; 320 px is WCAG 1.4.10's reflow width
# (400 % of 1280).
ZOOM_200_WIDTH = 640
REFLOW_WIDTH = 320


def axe_violations(page: Any) -> list[str]:
    """One line per violated rule and element, empty when axe finds nothing at WCAG 2.1 AA."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                                      "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {node['target']} {node['failureSummary']}"
            for v in results.response["violations"] for node in v["nodes"]]


def overflow(page: Any) -> list[str]:
    """What sticks out past the right edge of the viewport (the reason a page scrolls sideways), if anything."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        return [...document.body.querySelectorAll('*')]
            .filter(el => el.getBoundingClientRect().right > width + 0.5 && el.getClientRects().length)
            .slice(0, 8).map(el => el.outerHTML.slice(0, 120));
    }""")


def set_default_font_size(page: Any, pixels: int) -> None:
    """The browser's own font-size setting (chrome://settings/fonts), which rem units follow and px do not."""
    session = page.context.new_cdp_session(page)
    session.send("Page.setFontSizes", {"fontSizes": {"standard": pixels, "fixed": pixels}})


def _rgb(colour: str) -> tuple[float, float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", colour)]
    return parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0


def _luminance(rgb: tuple[float, float, float]) -> float:
    channels = [c / 255 for c in rgb]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def focus_ring_contrast(page: Any, selector: str) -> tuple[float, str]:
    """Contrast of the focused element's outline against the background it is drawn on (the first opaque
    background among the element's ancestors: the outline sits outside the element, with an offset)."""
    style = page.evaluate("""(selector) => {
        const el = document.querySelector(selector);
        const s = getComputedStyle(el);
        let node = el.parentElement, bg = 'rgb(255, 255, 255)';
        for (; node; node = node.parentElement) {
            const b = getComputedStyle(node).backgroundColor;
            if (b && b !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(b)) { bg = b; break; }
        }
        return {outline: s.outlineColor, style: s.outlineStyle, width: s.outlineWidth, bg};
    }""", selector)
    assert style["style"] != "none" and float(style["width"].rstrip("px")) >= 2, f"no visible focus ring: {style}"
    ring, background = _rgb(style["outline"]), _rgb(style["bg"])
    return contrast(ring[:3], background[:3]), f"{style['outline']} on {style['bg']}"

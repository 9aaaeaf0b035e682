"""Text colours of the pages meet WCAG AA contrast (4.5:1) on the backgrounds they are used on."""

import re
from pathlib import Path

import pytest
from django.conf import settings

CSS = (Path(settings.BASE_DIR) / "static/css/site.css").read_text()
VARS = dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]{3,6})", CSS))


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _c(name: str) -> str:
    return VARS[name] if not name.startswith("#") else name


@pytest.mark.parametrize(("text", "background"), [
    ("ink", "bg"), ("muted", "bg"), ("muted", "soft"), ("ink", "soft"), ("accent", "bg"), ("accent", "soft"),
    ("accent-ink", "accent"), ("warn", "warn-bg"), ("#a10000", "soft"), ("#a10000", "bg"), ("#0b4f39", "#e6f4ec"),
])
def test_text_contrast_meets_wcag_aa(text: str, background: str) -> None:
    assert _contrast(_c(text), _c(background)) >= 4.5

"""Server-side SVG charts: no JavaScript, no CDN, readable without colour.

Every chart has a <title> and <desc> (screen readers announce them), text labels carry the numbers, and the two
lines of the conversion chart differ by dash pattern and marker shape, not only by colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from funnel.dashboard.selectors import DayPoint, FunnelStep

_ids = count(1)
INK = "#1f2933"
BAR = "#3f6f9f"
GRID = "#d5dbe1"


def svg_start(*, width: int, height: int, ids: str, title: str, desc: str) -> list[str]:
    """A chart's opening: an SVG image named by its title and described in words for screen readers."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="{ids}-title {ids}-desc" font-family="sans-serif" font-size="12">',
        f'<title id="{ids}-title">{escape(title)}</title>',
        f'<desc id="{ids}-desc">{escape(desc)}</desc>',
    ]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def funnel_bars(steps: Sequence[FunnelStep], *, title: str = "Conversion funnel") -> SafeString:
    """One horizontal bar per step, its length proportional to the count; the numbers are written beside it."""
    uid = next(_ids)
    label_width, bar_width, row, width = 220, 330, 34, 760
    height = row * len(steps) + 16
    biggest = max((step.count for step in steps), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="fb-title-{uid} fb-desc-{uid}" font-family="sans-serif" font-size="13">',
        f'<title id="fb-title-{uid}">{escape(title)}</title>',
        f'<desc id="fb-desc-{uid}">'
        + escape("; ".join(f"{s.label}: {s.count} ({_percent(s.rate_from_top)} of the top)" for s in steps))
        + "</desc>",
    ]
    for index, step in enumerate(steps):
        y = 8 + index * row
        length = max(2, round(bar_width * step.count / biggest)) if step.count else 0
        note = f"{step.count:,}"
        if step.rate_from_previous is not None:
            note += f" · {_percent(step.rate_from_previous)} of previous · {_percent(step.rate_from_top)} of top"
        parts += [
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" fill="{INK}">{escape(step.label)}</text>',
            f'<rect x="{label_width}" y="{y + 2}" width="{length}" height="{row - 10}" fill="{BAR}" '
            f'stroke="{INK}" stroke-width="0.5"><title>{escape(step.label)}: {step.count:,}</title></rect>',
            f'<text x="{label_width + length + 6}" y="{y + 17}" fill="{INK}">{escape(note)}</text>',
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part above is escaped


def conversion_line(points: Sequence[DayPoint], *, title: str = "Conversion over time") -> SafeString:
    """Two lines per signup day: visit → signup (solid, circles) and signup → paid (dashed, squares)."""
    uid = next(_ids)
    width, height = 760, 280
    left, right, top, bottom = 52, 150, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    series = [
        ("Visit → signup", [p.signup_rate for p in points], "", "circle", "#2f6690"),
        ("Signup → paid", [p.paid_rate for p in points], "6 4", "square", "#b5651d"),
    ]
    values = [v for _, vals, *_ in series for v in vals if v is not None]
    peak = max(values, default=0.0)
    y_max = _nice_ceiling(peak)

    def x_at(index: int) -> float:
        return left + (plot_w * index / max(len(points) - 1, 1))

    def y_at(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    desc = "; ".join(
        f"{name}: average {_percent(sum(v for v in vals if v is not None) / len([v for v in vals if v is not None]))}"
        if any(v is not None for v in vals) else f"{name}: no data"
        for name, vals, *_ in series
    )
    parts = svg_start(width=width, height=height, ids=f"cl-{uid}", title=title, desc=desc)
    for tick in range(6):
        value = y_max * tick / 5
        y = y_at(value)
        label = f"{value * 100:.0f}" if round(value * 100, 6).is_integer() else f"{value * 100:.1f}"
        parts += [
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>',
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{label}%</text>',
        ]
    step = max(1, len(points) // 8)
    for index in range(0, len(points), step):
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="{INK}">'
            f"{points[index].day:%b %d}</text>"
        )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}"/>'
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{INK}"/>'
    )
    for row, (name, vals, dash, marker, colour) in enumerate(series):
        coords = [(x_at(i), y_at(v)) for i, v in enumerate(vals) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for (x, y), point, value in zip(coords, [p for p, v in zip(points, vals, strict=True) if v is not None],
                                        [v for v in vals if v is not None], strict=True):
            tip = f"<title>{point.day:%Y-%m-%d} {escape(name)}: {_percent(value)}</title>"
            if marker == "circle":
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">{tip}</circle>')
            else:
                parts.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}">{tip}</rect>')
        # Legend: line sample, marker and name (so the lines are told apart without colour).
        ly = top + 10 + row * 22
        lx = width - right + 14
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        sample = (f'<circle cx="{lx + 14}" cy="{ly}" r="3" fill="{colour}"/>' if marker == "circle"
                  else f'<rect x="{lx + 11}" y="{ly - 3}" width="6" height="6" fill="{colour}"/>')
        parts.append(
            f'<line x1="{lx}" x2="{lx + 28}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash_attr}/>'
            f'{sample}<text x="{lx + 34}" y="{ly + 4}" fill="{INK}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part above is escaped


def _nice_ceiling(value: float) -> float:
    """A round upper bound for the y axis (1%, 2%, 5%, 10%, 20%, 50%, 100%)."""
    for bound in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        if value <= bound:
            return bound
    return value

"""The deliverability panel's charts: a rate per day for each stream, against the providers' limits.

Drawn like charts.py (server-side SVG, no JavaScript; a <title> and <desc>; streams told apart by dash pattern and
marker shape as well as colour). Each limit is a labelled horizontal line; a day without mail leaves a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from funnel.dashboard.charts import GRID, INK, svg_start
from funnel.dashboard.selectors import Counts
from funnel.dashboard.selectors.deliverability import DayRates

_ids = count(1)
STREAM_STYLES = {"marketing": ("", "circle", "#2f6690"), "transactional": ("6 4", "square", "#6b4c9a")}
LIMIT_COLOURS = {"warn": "#b45309", "stop": "#b91c1c"}
OFF_SCALE_FROM = 5  # times the highest limit


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _ceiling(value: float) -> float:
    for bound in (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0):
        if value <= bound:
            return bound
    return value


def rate_chart(days: Sequence[DayRates], *, title: str, rate: Callable[[Counts], float | None],
               limits: Sequence[tuple[float, str, str]]) -> SafeString:
    """One line per stream of `rate` per day; `limits` are (value, label, "warn" | "stop") lines."""
    uid = next(_ids)
    width, height = 760, 240
    left, right, top, bottom = 56, 170, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    series = {stream: [rate(day.streams[stream]) if day.streams[stream].sent or day.streams[stream].delivered
                       else None for day in days] for stream in STREAM_STYLES}
    # The scale reaches a few times the highest limit, no further: a day far above it (one complaint among ten
    # emails) would flatten the limits into the axis. Such a day is drawn at the top as a triangle, its value in
    # its tooltip.
    highest_limit = max(value for value, *_ in limits)
    peak = max([v for values in series.values() for v in values if v is not None] + [highest_limit])
    y_max = _ceiling(min(peak, highest_limit * OFF_SCALE_FROM) * 1.15)

    def x_at(index: int) -> float:
        return left + plot_w * index / max(len(days) - 1, 1)

    def y_at(value: float) -> float:
        return top + plot_h - plot_h * min(value, y_max) / y_max

    desc = "; ".join(
        f"{stream}: highest {_pct(max(v for v in values if v is not None))}" if any(v is not None for v in values)
        else f"{stream}: no mail" for stream, values in series.items())
    desc += "; limits: " + ", ".join(f"{label} {_pct(value)}" for value, label, _ in limits)
    parts = svg_start(width=width, height=height, ids=f"rc-{uid}", title=title, desc=desc)
    for tick in range(5):
        value = y_max * tick / 4
        parts += [f'<line x1="{left}" x2="{left + plot_w}" y1="{y_at(value):.1f}" y2="{y_at(value):.1f}" '
                  f'stroke="{GRID}"/>',
                  f'<text x="{left - 6}" y="{y_at(value) + 4:.1f}" text-anchor="end" fill="{INK}">'
                  f'{value * 100:.2f}%</text>']
    for index in range(0, len(days), max(1, len(days) // 6)):
        parts.append(f'<text x="{x_at(index):.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="{INK}">'
                     f"{days[index].day:%b %d}</text>")
    label_ys: list[float] = []
    for value, label, kind in sorted(limits):
        y = y_at(value)
        label_y = min([y + 4] + [taken - 13 for taken in label_ys])  # never on top of the label below it
        label_ys.append(label_y)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LIMIT_COLOURS[kind]}" '
                     f'stroke-width="1.5" stroke-dasharray="2 3"/><text x="{left + plot_w + 6}" y="{label_y:.1f}" '
                     f'fill="{LIMIT_COLOURS[kind]}">{escape(label)} {_pct(value)}</text>')
    for row, (stream, values) in enumerate(series.items()):
        dash, marker, colour = STREAM_STYLES[stream]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        points = [(x_at(i), y_at(v), days[i].day, v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, *_ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for x, y, day, value in points:
            tip = f"<title>{day:%Y-%m-%d} {stream}: {_pct(value)}</title>"
            if value > y_max:
                parts.append(f'<polygon points="{x - 4:.1f},{y + 5:.1f} {x + 4:.1f},{y + 5:.1f} {x:.1f},{y - 3:.1f}" '
                             f'fill="{colour}">{tip}</polygon>')
            elif marker == "circle":
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">{tip}</circle>')
            else:
                parts.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}">{tip}</rect>')
        ly, lx = top + 8 + row * 18, width - right + 14
        sample = (f'<circle cx="{lx + 14}" cy="{ly}" r="3" fill="{colour}"/>' if marker == "circle"
                  else f'<rect x="{lx + 11}" y="{ly - 3}" width="6" height="6" fill="{colour}"/>')
        parts.append(f'<line x1="{lx}" x2="{lx + 28}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"'
                     f'{dash_attr}/>{sample}<text x="{lx + 34}" y="{ly + 4}" fill="{INK}">{escape(stream)}</text>')
    if any(v is not None and v > y_max for values in series.values() for v in values):
        parts.append(f'<text x="{width - right + 14}" y="{top + 8 + len(series) * 18 + 4}" fill="{INK}">'
                     "▲ above the scale</text>")
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{INK}"/>'
                 f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}"/>'
                 "</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part above is escaped

"""Geometry for the server-drawn pain chart (the template turns it into SVG).

Readable without colour: "before" and "after" differ by marker shape (hollow circle, filled square) and line
style (dashed, solid) as well as colour, every point carries a <title>, and the page shows the same numbers
as a table. The legend is HTML beside the chart, so it follows the reader's text size; the axis labels are sized
in the stylesheet (static/css/app.css) to stay readable when a phone shrinks the chart.
"""

from dataclasses import dataclass

from funnel.practice.selectors import DayPain

WIDTH, HEIGHT = 340, 210
LEFT, RIGHT, TOP, BOTTOM = 30, 22, 14, 28  # margins: y labels, right edge, half a label, x labels


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str  # "Tue 24 Nov: before 6"

    # The square marker's corner, so the template does no arithmetic (its `add` filter truncates floats).
    @property
    def box_x(self) -> float:
        return round(self.x - 4, 1)

    @property
    def box_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass(frozen=True)
class Series:
    key: str  # "before" / "after"
    name: str
    points: list[Point]
    segments: list[str]  # polyline point lists; a day without a log breaks the line


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: list[tuple[int, float]]
    x_labels: list[tuple[float, str]]
    series: list[Series]
    title: str
    desc: str
    logged_days: int


def _fmt(value: float) -> str:
    return f"{value:g}"


def pain_chart(series: list[DayPain], *, title: str) -> Chart:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(series) - 1, 1)

    def x_at(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y_at(value: float) -> float:
        return round(TOP + plot_h - value / 10 * plot_h, 1)

    label_every = 1 if len(series) <= 7 else 7
    x_labels = []
    for index, day in enumerate(series):
        # Label from the newest day backwards so "today" is always labelled.
        if (len(series) - 1 - index) % label_every == 0:
            text = day.day.strftime("%a") if len(series) <= 7 else day.day.strftime("%-d %b")
            x_labels.append((x_at(index), text))

    lines = []
    for key, name in (("before", "Before"), ("after", "After")):
        points: list[Point] = []
        segments: list[str] = []
        current: list[str] = []
        for index, day in enumerate(series):
            value = getattr(day, key)
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            point = Point(x=x_at(index), y=y_at(value), value=value,
                          label=f"{day.day.strftime('%a %-d %b')}: {name.lower()} {_fmt(value)}")
            points.append(point)
            current.append(f"{point.x},{point.y}")
        if current:
            segments.append(" ".join(current))
        lines.append(Series(key=key, name=name, points=points, segments=segments))

    logged = [day for day in series if day.logged]
    if logged:
        befores = [d.before for d in logged if d.before is not None]
        afters = [d.after for d in logged if d.after is not None]
        parts = [f"{len(logged)} of {len(series)} days logged."]
        if befores:
            parts.append(f"Average pain before a session {sum(befores) / len(befores):.1f} out of 10")
        if afters:
            parts.append(f"average after {sum(afters) / len(afters):.1f}.")
        desc = " ".join(parts).replace("10 average", "10, average")
    else:
        desc = f"No sessions logged in the last {len(series)} days yet."

    return Chart(
        width=WIDTH, height=HEIGHT, left=LEFT, right=WIDTH - RIGHT, top=TOP, bottom=HEIGHT - BOTTOM,
        y_ticks=[(value, y_at(value)) for value in (0, 5, 10)],
        x_labels=x_labels, series=lines, title=title, desc=desc, logged_days=len(logged),
    )

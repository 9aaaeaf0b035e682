"""The full guide: the three steps, the six areas, the tools, the mistakes and the plans, read from the data
files in funnel/guide/data/ (TOML a marketer can read and edit; each file says what it holds).

One source for the guide pages, the daily-session app (which spots to press, which stretches to time) and the
reminder emails (what today's plan day is about), so a change to a hold time or a stretch shows up everywhere.
Templates decide how it looks; nothing here or in the files is HTML. The files are read once, at import: a
mistake in one (a missing field, a misspelt key, a plan day naming an unknown area) stops the service from
starting with the file and the entry named, rather than showing a broken page later.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

_DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True)
class ReleaseSpot:
    slug: str
    name: str
    where: str
    how: str


@dataclass(frozen=True)
class Stretch:
    slug: str
    name: str
    how: str
    seconds: int  # per side when `each_side`
    each_side: bool = True

    @property
    def total_seconds(self) -> int:
        return self.seconds * (2 if self.each_side else 1)


@dataclass(frozen=True)
class Origin:
    muscle: str
    why: str


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    short: str  # a few words for buttons and emails: "low back"
    summary: str
    origins: tuple[Origin, ...]
    spots: tuple[ReleaseSpot, ...]
    heat: str
    stretches: tuple[Stretch, ...]


@dataclass(frozen=True)
class ProtocolStep:
    slug: str
    number: int
    name: str
    timing: str
    purpose: str
    how: tuple[str, ...]
    cautions: tuple[str, ...]


@dataclass(frozen=True)
class Tool:
    name: str
    use: str


@dataclass(frozen=True)
class ToolGroup:
    slug: str
    name: str
    recommended: tuple[Tool, ...]
    avoid: tuple[Tool, ...]


@dataclass(frozen=True)
class Mistake:
    number: int
    title: str
    what_happens: str
    instead: str


@dataclass(frozen=True)
class PlanDay:
    number: int
    area_slug: str  # "" on day 7: the whole routine on the area that bothers you most
    title: str
    focus: str
    tip: str


@dataclass(frozen=True)
class PlanWeek:
    weeks: str
    title: str
    goal: str
    how: tuple[str, ...]


class GuideContentError(ValueError):
    """A data file of the guide is not what the guide needs; the message names the file and the entry."""


def _read(name: str) -> dict[str, Any]:
    path = _DATA_DIR / name
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GuideContentError(f"funnel/guide/data/{name}: {exc}") from exc


_T = TypeVar("_T")


def _make(kind: type[_T], where: str, fields: dict[str, Any]) -> _T:
    try:
        return kind(**fields)
    except TypeError as exc:  # a missing or misspelt key
        raise GuideContentError(f"funnel/guide/data/{where}: {exc}") from exc


_TIMINGS: dict[str, int] = _read("timings.toml")

# The protocol's timings, used by the guide text, the app's timers and the form validation alike.
HOLD_MIN_SECONDS: int = _TIMINGS["hold_min_seconds"]
HOLD_MAX_SECONDS: int = _TIMINGS["hold_max_seconds"]
HEAT_MIN_MINUTES: int = _TIMINGS["heat_min_minutes"]
HEAT_MAX_MINUTES: int = _TIMINGS["heat_max_minutes"]
RELEASE_MINUTES: int = _TIMINGS["release_minutes"]  # about, all spots together
STRETCH_MINUTES: int = _TIMINGS["stretch_minutes"]  # about, the whole sequence
# The whole routine, from its three steps: the one figure every page, the guide, the app and the emails state
# (templates print it with {% routine_minutes %}, config/template_constants.py).
ROUTINE_MIN_MINUTES = RELEASE_MINUTES + HEAT_MIN_MINUTES + STRETCH_MINUTES
ROUTINE_MAX_MINUTES = RELEASE_MINUTES + HEAT_MAX_MINUTES + STRETCH_MINUTES
ROUTINE_MINUTES = f"{ROUTINE_MIN_MINUTES}–{ROUTINE_MAX_MINUTES}"


def _text(value: str, where: str) -> str:
    """`value` with the timings filled in ("{heat_min_minutes}" -> "15"), so a timing is written once."""
    try:
        return value.format_map(_TIMINGS) if "{" in value else value
    except (KeyError, ValueError) as exc:
        raise GuideContentError(f"funnel/guide/data/{where}: unknown timing {exc} in {value!r}") from exc


def _texts(values: list[str], where: str) -> tuple[str, ...]:
    return tuple(_text(value, where) for value in values)


def _protocol() -> tuple[tuple[ProtocolStep, ...], str]:
    data = _read("protocol.toml")
    steps = []
    for n, step in enumerate(data["steps"], start=1):
        where = f"protocol.toml, step {n}"
        steps.append(_make(ProtocolStep, where, {
            **{key: _text(value, where) if isinstance(value, str) else value for key, value in step.items()},
            "how": _texts(step.get("how", []), where), "cautions": _texts(step.get("cautions", []), where)}))
    return tuple(steps), _text(data["order_why"], "protocol.toml")


def _area(area: dict[str, Any]) -> Area:
    where = f"areas.toml, area {area.get('slug', '?')!r}"
    return _make(Area, where, {
        **area,
        "origins": tuple(_make(Origin, where, origin) for origin in area.get("origins", [])),
        "spots": tuple(_make(ReleaseSpot, where, spot) for spot in area.get("spots", [])),
        "stretches": tuple(_make(Stretch, where, stretch) for stretch in area.get("stretches", [])),
    })


def _tool_group(group: dict[str, Any]) -> ToolGroup:
    where = f"tools.toml, group {group.get('slug', '?')!r}"
    return _make(ToolGroup, where, {
        **group,
        "recommended": tuple(_make(Tool, where, tool) for tool in group.get("recommended", [])),
        "avoid": tuple(_make(Tool, where, tool) for tool in group.get("avoid", [])),
    })


def _mistake(mistake: dict[str, Any]) -> Mistake:
    where = f"mistakes.toml, mistake {mistake.get('number', '?')}"
    return _make(Mistake, where, {key: _text(value, where) if isinstance(value, str) else value
                                  for key, value in mistake.items()})


def _plan_day(day: dict[str, Any]) -> PlanDay:
    where = f"plan-7-days.toml, day {day.get('number', '?')}"
    fields = dict(day)
    fields["area_slug"] = fields.pop("area", None)
    if fields["area_slug"] is None:
        raise GuideContentError(f"funnel/guide/data/{where}: no area (write area = \"\" for the reader's choice)")
    if fields["area_slug"] and fields["area_slug"] not in AREAS_BY_SLUG:
        raise GuideContentError(f"funnel/guide/data/{where}: unknown area {fields['area_slug']!r}; "
                                f"one of {', '.join(AREAS_BY_SLUG)}")
    return _make(PlanDay, where, fields)


def _plan_week(week: dict[str, Any]) -> PlanWeek:
    where = f"plan-30-days.toml, {week.get('weeks', '?')}"
    return _make(PlanWeek, where, {**week, "how": _texts(week.get("how", []), where)})


PROTOCOL, STEP_ORDER_WHY = _protocol()
AREAS: tuple[Area, ...] = tuple(_area(area) for area in _read("areas.toml")["areas"])
AREAS_BY_SLUG: dict[str, Area] = {area.slug: area for area in AREAS}
TOOLS: tuple[ToolGroup, ...] = tuple(_tool_group(group) for group in _read("tools.toml")["groups"])
MISTAKES: tuple[Mistake, ...] = tuple(_mistake(mistake) for mistake in _read("mistakes.toml")["mistakes"])
PLAN_7_DAYS: tuple[PlanDay, ...] = tuple(_plan_day(day) for day in _read("plan-7-days.toml")["days"])
PLAN_30_DAYS: tuple[PlanWeek, ...] = tuple(_plan_week(week) for week in _read("plan-30-days.toml")["weeks"])
PHYSICIAN_RED_FLAGS: tuple[str, ...] = _texts(_read("see-a-physician.toml")["red_flags"], "see-a-physician.toml")


def spots_for(area_slugs: list[str]) -> list[ReleaseSpot]:
    """The release spots for the chosen areas, in order, each spot once (neck and shoulders share one)."""
    seen: dict[str, ReleaseSpot] = {}
    for slug in area_slugs:
        for spot in AREAS_BY_SLUG[slug].spots:
            seen.setdefault(spot.slug, spot)
    return list(seen.values())


def stretches_for(area_slugs: list[str]) -> list[Stretch]:
    seen: dict[str, Stretch] = {}
    for slug in area_slugs:
        for stretch in AREAS_BY_SLUG[slug].stretches:
            seen.setdefault(stretch.slug, stretch)
    return list(seen.values())


def plan_day(number: int) -> PlanDay:
    """Plan day 1–7 (days past 7 repeat day 7: the whole routine on your worst area)."""
    return PLAN_7_DAYS[min(max(number, 1), len(PLAN_7_DAYS)) - 1]

"""The reader's IANA time zone: which names we accept, and the grouped list a plain <select> offers.

The signup form (funnel) and the preferences page (leads) show the same list, so it lives here, in the lowest
layer. The list is the tz database's zone.tab (every country's zones), grouped by region; any other zone the database
knows, an old alias such as "Asia/Calcutta" included, is still accepted, and shown when a browser reports it.
"""

from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from zoneinfo import TZPATH, available_timezones

from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Regions people live in, with the label each <optgroup> shows (Antarctica and Arctic stations are left out).
REGIONS = {"Africa": "Africa", "America": "Americas", "Asia": "Asia", "Atlantic": "Atlantic Ocean",
           "Australia": "Australia", "Europe": "Europe", "Indian": "Indian Ocean", "Pacific": "Pacific"}
OTHER = "Other"


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk (~45 ms); once per process is enough.
    return frozenset(available_timezones())


def clean_time_zone(value: str | None) -> str:
    """`value` if it is a zone we know, else the default: a bad value must never block a signup or a save."""
    value = (value or "").strip()
    return value if value in known_zones() else settings.DRIP_DEFAULT_TIME_ZONE


def _tab(name: str) -> list[list[str]]:
    """Rows of one of the tz database's tables (zone.tab, iso3166.tab), [] where the system has none."""
    for directory in TZPATH:
        path = Path(directory) / name
        if path.exists():
            return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#")]
    return []


def _place(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" -> "Argentina / Buenos Aires"."""
    return name.partition("/")[2].replace("_", " ").replace("/", " / ")


@lru_cache(maxsize=1)
def zone_groups() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """((region label, ((zone, "Place — Country"), ...)), ...), alphabetical, UTC last.

    From zone.tab: one zone per country and region of a country, under the name people there use (Bratislava,
    not Prague), and none of the database's deprecated aliases. Without zone.tab every zone is listed.
    """
    countries = {row[0]: row[1] for row in _tab("iso3166.tab") if len(row) >= 2}
    rows = [(row[2], countries.get(row[0], "")) for row in _tab("zone.tab") if len(row) >= 3]
    rows = [(zone, country) for zone, country in rows if zone in known_zones()] or [
        (zone, "") for zone in known_zones()]
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for zone, country in rows:
        region = zone.partition("/")[0]
        if region in REGIONS:
            groups[REGIONS[region]].append((zone, f"{_place(zone)} — {country}" if country else _place(zone)))
    ordered = [(label, tuple(sorted(groups[label], key=lambda option: option[1]))) for label in sorted(groups)]
    return (*ordered, (OTHER, (("UTC", "UTC (Coordinated Universal Time)"),)))


@lru_cache(maxsize=1)
def _listed() -> frozenset[str]:
    return frozenset(zone for _, zones in zone_groups() for zone, _ in zones)


@lru_cache(maxsize=64)
def time_zone_options(selected: str) -> SafeString:
    """The <option>s of the time zone <select>, `selected` marked (and added first when the list lacks it).

    Built once per selected zone and process: some 350 options are too many to loop over in a template on
    every landing page view.
    """
    extra = ""
    if selected and selected not in _listed():
        extra = format_html('<option value="{}" selected>{}</option>', selected, selected.replace("_", " "))
    groups = format_html_join("", '<optgroup label="{}">{}</optgroup>', (
        (label, format_html_join("", '<option value="{}"{}>{}</option>', (
            (zone, SafeString(" selected") if zone == selected else "", place) for zone, place in zones)))
        for label, zones in zone_groups()))
    return SafeString(extra + groups)


# Who knows the send hour set in the admin (emails.content.timing registers from EmailsConfig.ready()): this
# layer may not import `emails`, the same seam as leads.privacy's registries.
_send_hour_provider: Callable[[], int] | None = None


def register_send_hour_provider(provider: Callable[[], int]) -> None:
    global _send_hour_provider
    _send_hour_provider = provider


def current_send_hour() -> int:
    """The local hour new reminders go out at: the sequence's setting, DRIP_SEND_HOUR until one is registered."""
    return _send_hour_provider() if _send_hour_provider is not None else settings.DRIP_SEND_HOUR


def send_time_text(hour: int | None = None) -> str:
    """The local time the daily emails go out, as a reader would say it: "8 a.m.", "noon", "6 p.m."."""
    hour = current_send_hour() if hour is None else hour
    if hour == 0:
        return "midnight"
    if hour == 12:
        return "noon"
    return f"{hour % 12} {'a.m.' if hour < 12 else 'p.m.'}"

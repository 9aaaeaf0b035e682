"""The funnel split by source x campaign (filled in by funnel.funnel_and_sources), and its sort."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from funnel.dashboard.selectors.common import rate


@dataclass
class SourceRow:
    utm_source: str
    utm_campaign: str
    visits: int = 0
    signups: int = 0
    confirmed: int = 0
    welcome_opened: int = 0
    upgrade_clicked: int = 0
    checkout_started: int = 0
    paid: int = 0
    refunded: int = 0
    gross_cents: int = 0
    net_cents: int = 0

    @property
    def signup_rate(self) -> float | None:
        return rate(self.signups, self.visits)

    @property
    def paid_rate(self) -> float | None:
        return rate(self.paid, self.signups)


SOURCE_SORT_KEYS = [
    "utm_source", "utm_campaign", "visits", "signups", "confirmed", "welcome_opened", "upgrade_clicked",
    "checkout_started", "paid", "refunded", "net_cents", "signup_rate", "paid_rate",
]


def sort_sources(rows: list[SourceRow], sort: str) -> list[SourceRow]:
    """Sort by any column, "-" first for descending; empty rates go last whichever the direction."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SOURCE_SORT_KEYS:
        name, descending = "signups", True

    def sort_key(row: SourceRow) -> tuple[bool, Any]:
        value = getattr(row, name)
        return (value is None) != descending, value if value is not None else 0

    return sorted(rows, key=sort_key, reverse=descending)


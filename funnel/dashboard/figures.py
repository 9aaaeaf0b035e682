"""All the dashboard's figures for one set of filters, computed together and cached for a few minutes.

On a big database the heaviest figures (per email, over every email event of the period) take a second or more to
aggregate. Marketers reload, sort and download CSVs of the same period many times, so the figures are cached per
set of filters for CACHE_SECONDS, the page says when they were computed and offers to recompute them now. The page
and its CSV downloads read the same cached figures, so they always agree. A cache outage only makes it slower.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from funnel.dashboard import selectors
from funnel.dashboard.selectors import DashboardFilters

logger = logging.getLogger(__name__)
CACHE_SECONDS = 300
CACHE_VERSION: int | str = 2  # bump when the figures' shape changes


@dataclass
class Figures:
    filters: DashboardFilters
    computed_at: datetime
    summary: selectors.FunnelSummary
    daily: list[selectors.DayPoint]
    emails: list[selectors.EmailRow]
    sources: list[selectors.SourceRow]
    cohorts: list[selectors.CohortRow]
    choices: dict[str, list[str]]
    deliverability: selectors.Deliverability


def _key(filters: DashboardFilters) -> str:
    raw = repr(sorted(asdict(filters).items()))
    return f"dashboard:v{CACHE_VERSION}:{hashlib.sha256(raw.encode()).hexdigest()}"


def compute(filters: DashboardFilters) -> Figures:
    with selectors.reporting_session():
        # Which days are read from the daily rollup, looked up once for every figure that uses it.
        rolled = selectors.read_days(filters.previous().start, filters.end)
        # Both periods' signup cohorts, summed per day and source: the funnel, conversion by day and the cohorts.
        signups = selectors.signup_rows(filters.previous().start, filters.end, filters=filters, rolled=rolled)
        summary, sources = selectors.funnel_and_sources(filters, rows=signups)
        return Figures(
            filters=filters,
            computed_at=timezone.now(),
            summary=summary,
            daily=selectors.conversion_by_day(filters, rows=signups),
            emails=selectors.per_email(filters, rolled=rolled),
            sources=sources,
            cohorts=selectors.cohorts(filters, rows=signups),
            choices=selectors.utm_choices(),
            deliverability=selectors.deliverability_rates(filters.start, filters.end),
        )


def dashboard_figures(filters: DashboardFilters, *, fresh: bool = False) -> Figures:
    """The cached figures, or freshly computed ones (always when `fresh`)."""
    key = _key(filters)
    if not fresh:
        try:
            cached = cache.get(key)
        except Exception:  # noqa: BLE001 - a cache outage must not break the dashboard
            logger.warning("dashboard cache unavailable", exc_info=True)
            cached = None
        if isinstance(cached, Figures):
            return cached
    figures = compute(filters)
    try:
        cache.set(key, figures, CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("dashboard cache unavailable", exc_info=True)
    return figures

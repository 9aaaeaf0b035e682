"""The dashboard's sunset figures (leads/sunset.py): cached like the other figures, recomputed with them on "fresh"."""

import logging

from django.core.cache import cache

from funnel.dashboard.figures import CACHE_SECONDS
from leads.sunset import sunset_counts

logger = logging.getLogger(__name__)
KEY = "dashboard:sunset:v1"


def sunset_panel(*, fresh: bool) -> dict[str, int]:
    """Readers inactive now, asked and waiting, revived ever: one query at most every CACHE_SECONDS."""
    try:
        cached = None if fresh else cache.get(KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not break the dashboard
        logger.warning("dashboard cache unavailable", exc_info=True)
        cached = None
    if isinstance(cached, dict):
        return cached
    counts = sunset_counts()
    try:
        cache.set(KEY, counts, CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("dashboard cache unavailable", exc_info=True)
    return counts

"""Periodic upkeep of the dashboard's daily rollup. Thin: each task calls one service (see services.py for why)."""

from celery import shared_task

from funnel.dashboard.services import rollup_rebuild_recent, rollup_refresh

DAILY_REBUILD_DAYS = 90


@shared_task(name="funnel.dashboard.tasks.rollup_refresh")
def refresh_rollup() -> int:
    """Today, yesterday, the day before, and every older day a new email event or click belongs to."""
    return rollup_refresh()


@shared_task(name="funnel.dashboard.tasks.rollup_rebuild_recent")
def rebuild_recent_rollup(days: int = DAILY_REBUILD_DAYS) -> int:
    """The last `days` days from scratch: repairs what the refresh's cursors cannot see (deleted or edited rows)."""
    return rollup_rebuild_recent(days=days)

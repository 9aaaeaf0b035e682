"""Periodic upkeep of the dashboard's daily rollup. Thin: each task calls one service (see services.py for why)."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from funnel.dashboard.services import rollup_rebuild, rollup_refresh

NIGHTLY_REBUILD_DAYS = 90


@shared_task(name="funnel.dashboard.tasks.rollup_refresh")
def refresh_rollup() -> int:
    """Today, yesterday and every older day a new email event or click belongs to."""
    return rollup_refresh()


@shared_task(name="funnel.dashboard.tasks.rollup_rebuild_recent")
def rebuild_recent_rollup(days: int = NIGHTLY_REBUILD_DAYS) -> int:
    """The last `days` days from scratch: repairs what the refresh's cursors cannot see (deleted or edited rows)."""
    today = timezone.now().date()
    return rollup_rebuild(days=[today - timedelta(days=n) for n in range(days)])

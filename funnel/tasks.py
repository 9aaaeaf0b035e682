"""Periodic upkeep. Thin: each task calls one service."""

from celery import shared_task


@shared_task(name="funnel.tasks.housekeeping")
def housekeeping() -> None:
    """Reminders for unconfirmed leads and purging of stale ones (filled in by the signup issue)."""

"""Periodic upkeep. Thin: each task calls one service."""

from celery import shared_task

from funnel.landing.services import signup_housekeeping


@shared_task(name="funnel.tasks.housekeeping")
def housekeeping() -> dict[str, int]:
    """One confirmation reminder after 24 h; unconfirmed leads purged after 30 days."""
    return signup_housekeeping()

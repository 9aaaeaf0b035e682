"""Periodic upkeep. Thin: each task calls one service."""

from celery import shared_task

from funnel.landing.services import sequence_enrol_missing, signup_housekeeping


@shared_task(name="funnel.tasks.housekeeping")
def housekeeping() -> dict[str, int]:
    """One confirmation reminder after 24 h; unconfirmed leads purged after 30 days."""
    return signup_housekeeping()


@shared_task(name="funnel.tasks.enrol_missing_sequences")
def enrol_missing_sequences() -> int:
    """Subscribed, confirmed leads without a sequence get one (see sequence_enrol_missing for who and why)."""
    return sequence_enrol_missing()

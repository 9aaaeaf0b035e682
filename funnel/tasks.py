"""Periodic upkeep and Stripe event processing. Thin: each task calls one service."""

from celery import shared_task

from funnel.checkout.events import stripe_event_process, stripe_events_sweep
from funnel.landing.services import sequence_enrol_missing, signup_housekeeping


@shared_task(name="funnel.tasks.housekeeping")
def housekeeping() -> dict[str, int]:
    """One confirmation reminder after 24 h; unconfirmed leads purged after 30 days."""
    return signup_housekeeping()


@shared_task(name="funnel.tasks.enrol_missing_sequences")
def enrol_missing_sequences() -> int:
    """Subscribed, confirmed leads without a sequence get one (see sequence_enrol_missing for who and why)."""
    return sequence_enrol_missing()


@shared_task(name="funnel.tasks.process_stripe_event", ignore_result=True)
def process_stripe_event(event_id: str) -> str | None:
    """Fulfil (or reverse…) one stored Stripe event; queued by the webhook once the event is stored."""
    return stripe_event_process(event_id=event_id)


@shared_task(name="funnel.tasks.sweep_stripe_events", ignore_result=True)
def sweep_stripe_events() -> dict[str, int]:
    """Stored events no task processed (broker down, worker killed) and failures due for a retry. Beat runs it."""
    return stripe_events_sweep()

"""Periodic upkeep and Stripe event processing. Thin: each task calls one service."""

from celery import shared_task

from funnel.checkout.events import stripe_event_process, stripe_events_sweep
from funnel.imports.services import import_check_run, import_run, imports_resume
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


@shared_task(name="funnel.tasks.lead_import_check", ignore_result=True)
def lead_import_check(import_id: int) -> str:
    """The dry run of an import whose columns were just mapped in the admin."""
    return import_check_run(import_id=import_id)


@shared_task(name="funnel.tasks.lead_import_run", ignore_result=True)
def lead_import_run(import_id: int) -> str:
    """Run (or resume, at its committed cursor) one import ordered in the admin."""
    return import_run(import_id=import_id)


@shared_task(name="funnel.tasks.lead_imports_resume", ignore_result=True)
def lead_imports_resume() -> int:
    """Imports whose worker died (or whose task the broker lost) are handed to a worker again. Beat runs it."""
    return imports_resume()

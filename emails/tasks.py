from celery import shared_task

from emails import dispatch, esp_lookup, follow_up, sunset

# A transactional run is short: its lane exists so a sign-in link never waits, and a long run would make the next
# kick wait behind it.
TRANSACTIONAL_BUDGET_SECONDS = 5.0


@shared_task(name="emails.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Claim and send due marketing rows (and transactional ones their own lane left waiting). Fired by beat every
    few seconds and kicked when the sequence is queued.

    Safe to run in many workers at once: each claims different rows (see emails/dispatch.py).
    """
    return dispatch.dispatch_due(lane=dispatch.MARKETING_LANE)


@shared_task(name="emails.tasks.dispatch_transactional", ignore_result=True)
def dispatch_transactional() -> int:
    """Claim and send due transactional rows (confirmation, sign-in, receipt, privacy mail), on their own queue
    (`transactional`, by CELERY_TASK_ROUTES). Fired by beat and kicked when such an email is queued."""
    return dispatch.dispatch_due(lane=dispatch.TRANSACTIONAL_LANE, max_seconds=TRANSACTIONAL_BUDGET_SECONDS)


@shared_task(name="emails.tasks.unknown_rows_settle", ignore_result=True)
def unknown_rows_settle() -> dict[str, int]:
    """Ask the ESP about rows left `unknown` (emails/esp_lookup.py). Fired by beat."""
    return esp_lookup.unknown_rows_settle()


@shared_task(name="emails.tasks.follow_up_enrol", ignore_result=True)
def follow_up_enrol() -> int:
    """Readers who finished the week without buying get the follow-up rows. Beat runs it every few minutes."""
    return follow_up.follow_up_enrol_due()


@shared_task(name="emails.tasks.sunset_run", ignore_result=True)
def sunset_run() -> dict[str, int]:
    """Ask silent readers whether they still want our emails; stop those who did not answer (emails/sunset.py)."""
    return sunset.sunset_run()

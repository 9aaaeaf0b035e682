from celery import shared_task

from emails import dispatch, esp_lookup


@shared_task(name="emails.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Claim and send due rows. Fired by beat every few seconds and kicked when an email is queued.

    Safe to run in many workers at once: each claims different rows (see emails/dispatch.py).
    """
    return dispatch.dispatch_due()


@shared_task(name="emails.tasks.unknown_rows_settle", ignore_result=True)
def unknown_rows_settle() -> dict[str, int]:
    """Ask the ESP about rows left `unknown` (emails/esp_lookup.py). Fired by beat."""
    return esp_lookup.unknown_rows_settle()

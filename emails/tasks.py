from celery import shared_task

from emails import dispatch


@shared_task(name="emails.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Claim and send due rows. Fired by beat every few seconds and kicked when an email is queued.

    Safe to run in many workers at once: each claims different rows (see emails/dispatch.py).
    """
    return dispatch.dispatch_due()

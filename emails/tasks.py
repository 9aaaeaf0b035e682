from celery import shared_task

from emails import dispatch, follow_up


@shared_task(name="emails.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Claim and send due rows. Fired by beat every few seconds and kicked when an email is queued.

    Safe to run in many workers at once: each claims different rows (see emails/dispatch.py).
    """
    return dispatch.dispatch_due()


@shared_task(name="emails.tasks.follow_up_enrol", ignore_result=True)
def follow_up_enrol() -> int:
    """Readers who finished the week without buying get the follow-up rows. Beat runs it every few minutes."""
    return follow_up.follow_up_enrol_due()

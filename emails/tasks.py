from celery import shared_task


@shared_task(name="emails.tasks.dispatch_due")
def dispatch_due() -> int:
    """Claim and send due rows (the drip engine, issue 4)."""
    return 0

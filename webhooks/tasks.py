"""Thin tasks: one delivery after commit, and beat's sweep of what is due."""

from celery import shared_task

from webhooks import sender


@shared_task(name="webhooks.tasks.delivery_send", ignore_result=True)
def delivery_send(delivery_id: str) -> bool | None:
    return sender.delivery_send(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.deliveries_send_due", ignore_result=True)
def deliveries_send_due() -> int:
    return sender.deliveries_send_due()

"""The Celery app. Tasks live in each app's tasks.py; the beat schedule is static, in settings."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_failure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("funnel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("funnel.tasks")


@app.task(name="config.ping")
def ping() -> str:
    """A task with no side effect, used by /healthz-style checks and the broker round-trip test."""
    return "pong"


@setup_logging.connect
def use_django_logging(**_: Any) -> None:
    """Workers log in the same one-line, address-masking format as the web app."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_failure.connect
def log_task_failure(sender: Any = None, task_id: str | None = None, exception: BaseException | None = None,
                     args: Any = None, kwargs: Any = None, **_: Any) -> None:
    # Tasks take ids only (never addresses), so their arguments are safe to log and locate the lead/email.
    logger.error("task failed task=%s id=%s args=%s kwargs=%s error=%s: %s",
                 getattr(sender, "name", sender), task_id, args, kwargs,
                 type(exception).__name__, exception)

"""Handing a stored Stripe event to a worker: quick, best effort, and never an error for the webhook.

The stored event is the outbox: when the broker is down or hung the event stays `received` and the beat sweep
processes it, so Stripe must still get its 2xx at once. Celery's own publish would retry and, against a hung
Redis, wait without limit; this one uses a kept connection with short timeouts and no retries, and after a
failure stops trying for a while (a dead broker would otherwise cost every delivery the timeout).
(emails.services.dispatcher_kick does the same for the dispatcher's kick.)
"""

import contextlib
import logging
import os
import threading
import time
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)

# Enough to reach a healthy local broker, short enough that a dead one costs a delivery almost nothing.
PUBLISH_TIMEOUT_SECONDS = 0.25
PUBLISH_BACKOFF_SECONDS = 10.0

# One broker connection per process, kept between deliveries: connecting and declaring the queue per request
# would cost more than the rest of the webhook. The lock serialises threads (gthread workers) on it; the pid
# notices a fork, whose child must not share its parent's socket.
_lock = threading.Lock()
_kept: tuple[int, Any, Any] | None = None  # (pid, kombu Connection, Producer)
_suspended_until = 0.0


def _drop() -> None:
    global _kept
    if _kept is not None:
        with contextlib.suppress(Exception):  # closing a dead connection may fail too; it is gone either way
            _kept[1].release()
        _kept = None


def _producer(task: Task, *, fresh: bool) -> Any:
    global _kept
    if fresh or _kept is None or _kept[0] != os.getpid():
        _drop()
        conn = task.app.connection_for_write()
        conn.transport_options = {**(conn.transport_options or {}), "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                                  "socket_timeout": PUBLISH_TIMEOUT_SECONDS, "max_retries": 0}
        conn.connect_timeout = PUBLISH_TIMEOUT_SECONDS
        _kept = (os.getpid(), conn, conn.Producer())
    return _kept[2]


def task_publish(task: Task, *args: Any) -> bool:
    """Queue `task(*args)` now. False (logged, never raised) when the broker did not take it."""
    global _suspended_until
    if time.monotonic() < _suspended_until:
        return False
    with _lock:
        try:
            reused = _kept is not None and _kept[0] == os.getpid()
            try:
                task.apply_async(args, retry=False, producer=_producer(task, fresh=False))
            except Exception:
                if not reused:
                    raise
                # The kept connection may have died with a broker restart: one more try on a new one.
                task.apply_async(args, retry=False, producer=_producer(task, fresh=True))
        except Exception as exc:  # noqa: BLE001 - any broker failure is fine: the sweep processes the event
            _drop()
            _suspended_until = time.monotonic() + PUBLISH_BACKOFF_SECONDS
            logger.warning("could not queue %s, the sweep will process it: %s: %s", task.name,
                           type(exc).__name__, exc)
            return False
    return True


def task_publish_on_commit(task: Task, *args: Any) -> None:
    """Queue `task(*args)` once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(partial(task_publish, task, *args))

"""Publishing a Celery task from a request: quick, best effort, never an error for the caller.

Every task published here has a durable record behind it that beat finds on its own: the dispatcher's kick after
rows are queued (the rows are the outbox), a stored Stripe event handed to a worker (the sweep processes it). So
publishing only makes the work happen sooner, and a broker that is down or hung must cost the request almost
nothing: Celery's own publish would retry and, against a hung Redis, wait without limit. Here one connection per
process is kept between publishes (connecting and declaring the queue per request cost more than the rest of the
request), with short timeouts and no retries; a kept connection that fails gets one more try on a fresh one (it may
have died with a broker restart), and after a failure publishing stops for a while, so a request that publishes
several times while the broker is down pays the timeout once.

This module lives in `emails` because that is the lowest layer that publishes tasks: `emails` kicks its dispatcher
and `funnel` may import `emails` (never the other way round); `leads` holds lead state and knows no broker.

Celery's own publish, through the kept producer, is the only way: a direct push of kombu's envelope onto the Redis
list made one publish about 2 ms cheaper on a loaded machine, but showed no difference in `bench/bench_web.py`'s
webhook and signup throughput, and would have had to follow kombu's message format through every upgrade.
"""

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)

# Enough to reach a healthy local broker, short enough that a dead one costs a request almost nothing.
PUBLISH_TIMEOUT_SECONDS = 0.25
PUBLISH_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class _Kept:
    pid: int  # a forked child must not share its parent's socket
    connection: Any  # kombu Connection
    producer: Any  # kombu Producer on it


# The lock serialises threads (gthread workers) on the one kept connection.
_lock = threading.Lock()
_kept: _Kept | None = None
_suspended_until = 0.0


def task_publish(task: Task, *args: Any, expires: float | None = None) -> bool:
    """Queue `task(*args)` now (to be dropped unrun after `expires` seconds, if given). False (logged, never
    raised) when the broker did not take it."""
    global _suspended_until
    if time.monotonic() < _suspended_until:
        return False
    with _lock:
        try:
            reused = _kept is not None and _kept.pid == os.getpid()
            try:
                _publish(task, args, expires=expires, fresh=False)
            except Exception:
                if not reused:
                    raise
                # The kept connection may have died with a broker restart: one more try on a new one, so a
                # healthy broker never misses a publish.
                _publish(task, args, expires=expires, fresh=True)
        except Exception as exc:  # noqa: BLE001 - any broker failure is fine: beat catches up
            publisher_reset()
            _suspended_until = time.monotonic() + PUBLISH_BACKOFF_SECONDS
            logger.warning("could not queue %s, beat will catch up: %s: %s", task.name, type(exc).__name__, exc)
            return False
    return True


def task_publish_on_commit(task: Task, *args: Any) -> None:
    """Queue `task(*args)` once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(partial(task_publish, task, *args))


def publisher_reset() -> None:
    """Close the kept connection: the next publish opens a new one."""
    global _kept
    if _kept is not None:
        with contextlib.suppress(Exception):  # closing a dead connection may fail too; it is gone either way
            _kept.connection.close()
        _kept = None


def _publish(task: Task, args: tuple[Any, ...], *, expires: float | None, fresh: bool) -> None:
    global _kept
    if fresh or _kept is None or _kept.pid != os.getpid():
        publisher_reset()
        _kept = _Kept(os.getpid(), *_kombu_connection(task))
    # Celery takes expires=None as "never"; its type stubs do not, hence no argument at all then.
    options: dict[str, Any] = {} if expires is None else {"expires": expires}
    task.apply_async(args, retry=False, producer=_kept.producer, **options)


def _kombu_connection(task: Task) -> tuple[Any, Any]:
    conn = task.app.connection_for_write()
    conn.transport_options = {**(conn.transport_options or {}), "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                              "socket_timeout": PUBLISH_TIMEOUT_SECONDS, "max_retries": 0}
    conn.connect_timeout = PUBLISH_TIMEOUT_SECONDS
    return conn, conn.Producer()

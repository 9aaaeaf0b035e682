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

Two ways to publish, one message: `_celery_publish` is Celery's `apply_async`; `_redis_publish` pushes the very
bytes kombu's Redis transport would (Celery still builds the message, `celery_message`), without the per-message
Redis client and bookkeeping that cost the Stripe webhook about a third of its time beyond a trivial view. It is
used only where it provably applies (`redis_queue`: a Redis broker, default routing);
tests/drip/test_broker.py holds the two equal.
"""

import base64
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from celery import Task
from django.db import transaction
from kombu.serialization import dumps
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Enough to reach a healthy local broker, short enough that a dead one costs a request almost nothing.
PUBLISH_TIMEOUT_SECONDS = 0.25
PUBLISH_BACKOFF_SECONDS = 10.0


@dataclass(frozen=True)
class _Kept:
    pid: int  # a forked child must not share its parent's socket
    queue: str  # the Redis list pushed to directly, "" for Celery's own publish
    connection: Any  # kombu Connection or redis.Redis: both close()
    producer: Any  # kombu Producer; None for the direct push


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
            queue = redis_queue(task)
            reused = _kept is not None and _kept.pid == os.getpid() and _kept.queue == queue
            try:
                _publish(task, args, queue=queue, expires=expires, fresh=False)
            except Exception:
                if not reused:
                    raise
                # The kept connection may have died with a broker restart: one more try on a new one, so a
                # healthy broker never misses a publish.
                _publish(task, args, queue=queue, expires=expires, fresh=True)
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


def _publish(task: Task, args: tuple[Any, ...], *, queue: str, expires: float | None, fresh: bool) -> None:
    if queue:
        _redis_publish(task, args, expires=expires, fresh=fresh, queue=queue)
    else:
        _celery_publish(task, args, expires=expires, fresh=fresh)


def _kept_connection(*, queue: str, make: Callable[[], tuple[Any, Any]], fresh: bool) -> _Kept:
    global _kept
    if fresh or _kept is None or _kept.pid != os.getpid() or _kept.queue != queue:
        publisher_reset()
        _kept = _Kept(os.getpid(), queue, *make())
    return _kept


# --- Celery's way ------------------------------------------------------------------------------------------------

def _kombu_connection(task: Task) -> tuple[Any, Any]:
    conn = task.app.connection_for_write()
    conn.transport_options = {**(conn.transport_options or {}), "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                              "socket_timeout": PUBLISH_TIMEOUT_SECONDS, "max_retries": 0}
    conn.connect_timeout = PUBLISH_TIMEOUT_SECONDS
    return conn, conn.Producer()


def _celery_publish(task: Task, args: tuple[Any, ...], *, expires: float | None, fresh: bool) -> None:
    kept = _kept_connection(queue="", make=partial(_kombu_connection, task), fresh=fresh)
    # Celery takes expires=None as "never"; its type stubs do not, hence no argument at all then.
    options: dict[str, Any] = {} if expires is None else {"expires": expires}
    task.apply_async(args, retry=False, producer=kept.producer, **options)


# --- The same bytes, straight onto the Redis list ----------------------------------------------------------------

def redis_queue(task: Task) -> str:
    """The Redis list apply_async would push `task` onto, or "" when that is not simply the default queue's name
    (another broker, task routes, a key prefix): then only Celery's own publish is right."""
    conf = task.app.conf
    if not str(conf.broker_url or "").startswith(("redis://", "rediss://")) or conf.task_routes \
            or (conf.broker_transport_options or {}).get("global_keyprefix"):
        return ""
    queue = task.app.amqp.default_queue
    return str(queue.name) if queue.exchange.type == "direct" else ""


def celery_message(task: Task, args: tuple[Any, ...], *, queue: str, expires: float | None = None) -> bytes:
    """What kombu's Redis transport pushes for `task.apply_async(args, expires=expires)`: Celery's protocol-2
    message (built by Celery), in kombu's envelope, for the default exchange and priority 0."""
    task_id = str(uuid.uuid4())
    message = task.app.amqp.create_task_message(task_id, task.name, args, {}, expires=expires, root_id=task_id,
                                                reply_to=task.app.thread_oid, ignore_result=task.ignore_result)
    content_type, encoding, body = dumps(message.body, serializer=task.app.conf.task_serializer)
    raw = body.encode(encoding) if isinstance(body, str) else body
    # kombu's Producer.publish states a message's time to live in milliseconds, as text.
    expiration = {} if expires is None else {"expiration": str(int(expires * 1000))}
    return json.dumps({
        "body": base64.b64encode(raw).decode("ascii"), "content-encoding": encoding, "content-type": content_type,
        "headers": message.headers,
        "properties": {**message.properties, **expiration, "delivery_mode": 2, "priority": 0,
                       "body_encoding": "base64", "delivery_info": {"exchange": "", "routing_key": queue},
                       "delivery_tag": str(uuid.uuid4())},
    }).encode()


def _redis_client(task: Task) -> tuple[Any, None]:
    client = redis.Redis.from_url(str(task.app.conf.broker_url), socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                                  socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0))
    return client, None


def _redis_publish(task: Task, args: tuple[Any, ...], *, expires: float | None, fresh: bool, queue: str) -> None:
    kept = _kept_connection(queue=queue, make=partial(_redis_client, task), fresh=fresh)
    kept.connection.lpush(queue, celery_message(task, args, queue=queue, expires=expires))

"""Handing a stored Stripe event to a worker: quick, best effort, and never an error for the webhook.

The stored event is the outbox: when the broker is down or hung the event stays `received` and the beat sweep
processes it, so Stripe must still get its 2xx at once. Celery's own publish would retry and, against a hung
Redis, wait without limit; here a kept connection has short timeouts and no retries, and after a failure
publishing stops for a while (a dead broker would otherwise cost every delivery the timeout).
(emails.services.dispatcher_kick does the same for the dispatcher's kick.)

Two ways to publish, one result: `_kombu_publish` is Celery's `apply_async`; `_redis_publish` pushes the very
bytes kombu's Redis transport would (Celery still builds the message), without the per-message Redis client
and bookkeeping that cost the webhook about a third of its time beyond a trivial view. It is used only where it
provably applies (a Redis broker, default routing); tests/checkout/test_enqueue.py holds the two equal.
"""

import base64
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from functools import partial
from typing import Any

import redis
from celery import Task
from django.db import transaction
from kombu.serialization import dumps
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# Enough to reach a healthy local broker, short enough that a dead one costs a delivery almost nothing.
PUBLISH_TIMEOUT_SECONDS = 0.25
PUBLISH_BACKOFF_SECONDS = 10.0

# One broker connection per process, kept between deliveries: connecting and declaring the queue per request
# would cost more than the rest of the webhook. The lock serialises threads (gthread workers) on it; the pid
# notices a fork, whose child must not share its parent's socket.
_lock = threading.Lock()
_kept: tuple[int, Any, Any] | None = None  # (pid, kombu Connection or redis.Redis, kombu Producer or None)
_suspended_until = 0.0


def task_publish(task: Task, *args: Any) -> bool:
    """Queue `task(*args)` now. False (logged, never raised) when the broker did not take it."""
    global _suspended_until
    if time.monotonic() < _suspended_until:
        return False
    with _lock:
        try:
            reused = _kept is not None and _kept[0] == os.getpid()
            queue = _redis_queue(task)
            publish = partial(_redis_publish, queue=queue) if queue else _kombu_publish
            try:
                publish(task, args, fresh=False)
            except Exception:
                if not reused:
                    raise
                # The kept connection may have died with a broker restart: one more try on a new one.
                publish(task, args, fresh=True)
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


def _drop() -> None:
    global _kept
    if _kept is not None:
        with contextlib.suppress(Exception):  # closing a dead connection may fail too; it is gone either way
            _kept[1].close()
        _kept = None


def _kept_connection(make: Any, *, fresh: bool) -> tuple[Any, Any]:
    global _kept
    if fresh or _kept is None or _kept[0] != os.getpid():
        _drop()
        _kept = (os.getpid(), *make())
    return _kept[1], _kept[2]


# --- Celery's way ------------------------------------------------------------------------------------------------

def _kombu_connection(task: Task) -> tuple[Any, Any]:
    conn = task.app.connection_for_write()
    conn.transport_options = {**(conn.transport_options or {}), "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                              "socket_timeout": PUBLISH_TIMEOUT_SECONDS, "max_retries": 0}
    conn.connect_timeout = PUBLISH_TIMEOUT_SECONDS
    return conn, conn.Producer()


def _kombu_publish(task: Task, args: tuple[Any, ...], *, fresh: bool) -> None:
    _, producer = _kept_connection(partial(_kombu_connection, task), fresh=fresh)
    task.apply_async(args, retry=False, producer=producer)


# --- The same bytes, straight onto the Redis list ----------------------------------------------------------------

def _redis_queue(task: Task) -> str:
    """The Redis list apply_async would push `task` onto, or "" when that is not simply the default queue's name
    (another broker, task routes, a key prefix): then only Celery's own publish is right."""
    conf = task.app.conf
    if not str(conf.broker_url or "").startswith(("redis://", "rediss://")) or conf.task_routes \
            or (conf.broker_transport_options or {}).get("global_keyprefix"):
        return ""
    queue = task.app.amqp.default_queue
    return str(queue.name) if queue.exchange.type == "direct" else ""


def celery_message(task: Task, args: tuple[Any, ...], *, queue: str) -> bytes:
    """What kombu's Redis transport pushes for `task.apply_async(args)`: Celery's protocol-2 message (built by
    Celery), in kombu's envelope, for the default exchange and priority 0."""
    task_id = str(uuid.uuid4())
    message = task.app.amqp.create_task_message(task_id, task.name, args, {}, root_id=task_id,
                                                reply_to=task.app.thread_oid, ignore_result=task.ignore_result)
    content_type, encoding, body = dumps(message.body, serializer=task.app.conf.task_serializer)
    raw = body.encode(encoding) if isinstance(body, str) else body
    return json.dumps({
        "body": base64.b64encode(raw).decode("ascii"), "content-encoding": encoding, "content-type": content_type,
        "headers": message.headers,
        "properties": {**message.properties, "delivery_mode": 2, "priority": 0, "body_encoding": "base64",
                       "delivery_info": {"exchange": "", "routing_key": queue},
                       "delivery_tag": str(uuid.uuid4())},
    }).encode()


def _redis_client(task: Task) -> tuple[Any, None]:
    client = redis.Redis.from_url(str(task.app.conf.broker_url), socket_timeout=PUBLISH_TIMEOUT_SECONDS,
                                  socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0))
    return client, None


def _redis_publish(task: Task, args: tuple[Any, ...], *, fresh: bool, queue: str) -> None:
    client, _ = _kept_connection(partial(_redis_client, task), fresh=fresh)
    client.lpush(queue, celery_message(task, args, queue=queue))

"""The webhook's two ways to queue a task give the same message, and neither lets a dead broker hold a delivery."""

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings

from config.celery import app
from funnel.checkout import enqueue
from funnel.tasks import process_stripe_event

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _fresh_publisher() -> Iterator[None]:
    enqueue._drop()
    enqueue._suspended_until = 0.0
    yield
    enqueue._drop()
    enqueue._suspended_until = 0.0


def _newest(client: redis.Redis, queue: str) -> dict[str, Any]:
    """Take back the message just pushed (LPUSH puts it at the head) and decode its body."""
    raw = client.lpop(queue)
    assert isinstance(raw, bytes)
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def _without_identity(message: dict[str, Any]) -> dict[str, Any]:
    """Everything but what is unique to each message."""
    headers = {k: v for k, v in message["headers"].items() if k not in ("id", "root_id")}
    properties = {k: v for k, v in message["properties"].items() if k not in ("correlation_id", "delivery_tag")}
    return {**message, "headers": headers, "properties": properties}


def test_the_direct_redis_message_is_the_message_celery_publishes_but_its_ids() -> None:
    queue = enqueue._redis_queue(process_stripe_event)
    assert queue == "celery"
    client = redis.Redis.from_url(settings.REDIS_URL)

    enqueue._kombu_publish(process_stripe_event, ("evt_same",), fresh=True)
    by_celery = _newest(client, queue)
    enqueue._redis_publish(process_stripe_event, ("evt_same",), fresh=True, queue=queue)
    direct = _newest(client, queue)

    assert _without_identity(direct) == _without_identity(by_celery)
    assert direct["headers"]["id"] == direct["headers"]["root_id"] == direct["properties"]["correlation_id"]
    assert direct["headers"]["id"] != by_celery["headers"]["id"]
    assert direct["body"][0] == ["evt_same"]


@pytest.mark.parametrize("change", [{"task_routes": {"funnel.tasks.*": {"queue": "money"}}},
                                    {"broker_url": "filesystem://"},
                                    {"broker_transport_options": {"global_keyprefix": "funnel:"}}])
def test_anything_but_a_plain_redis_queue_goes_through_celery(change: dict[str, Any]) -> None:
    saved = {key: app.conf[key] for key in change}
    app.conf.update(change)
    try:
        assert enqueue._redis_queue(process_stripe_event) == ""
    finally:
        app.conf.update(saved)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


@pytest.mark.parametrize("path", ["celery", "direct"])
def test_a_refused_broker_costs_one_short_try_then_nothing_for_a_while(path: str) -> None:
    saved = app.conf.broker_url
    app.conf.update(broker_url=f"redis://127.0.0.1:{_dead_port()}/0")
    if path == "celery":
        app.conf.task_routes = {"funnel.tasks.*": {"queue": "celery"}}  # routes: Celery's own publish
    try:
        started = time.monotonic()
        assert enqueue.task_publish(process_stripe_event, "evt_lost") is False
        assert enqueue.task_publish(process_stripe_event, "evt_lost_too") is False  # backing off: no try
        assert time.monotonic() - started < 2.0
    finally:
        app.conf.update(broker_url=saved, task_routes=None)

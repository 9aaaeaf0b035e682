"""Publishing from a request (emails.broker): the two ways to queue a task give the same message, a broker restart
costs no publish, and a dead broker holds no request."""

import base64
import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
import redis
from django.conf import settings

from config.celery import app
from emails import broker
from emails.tasks import dispatch_due
from funnel.tasks import process_stripe_event

pytestmark = pytest.mark.redis

ROUTED_TO_CELERY = {"funnel.tasks.*": {"queue": "celery"}, "emails.tasks.*": {"queue": "celery"}}


@pytest.fixture(autouse=True)
def _fresh_publisher() -> Iterator[None]:
    broker.publisher_reset()
    broker._suspended_until = 0.0
    yield
    broker.publisher_reset()
    broker._suspended_until = 0.0


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery")
    yield client
    client.delete("celery")


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


def test_the_direct_redis_message_is_the_message_celery_publishes_but_its_ids(client: redis.Redis) -> None:
    queue = broker.redis_queue(process_stripe_event)
    assert queue == "celery"

    broker._celery_publish(process_stripe_event, ("evt_same",), expires=None, fresh=True)
    by_celery = _newest(client, queue)
    broker._redis_publish(process_stripe_event, ("evt_same",), expires=None, fresh=True, queue=queue)
    direct = _newest(client, queue)

    assert _without_identity(direct) == _without_identity(by_celery)
    assert direct["headers"]["id"] == direct["headers"]["root_id"] == direct["properties"]["correlation_id"]
    assert direct["headers"]["id"] != by_celery["headers"]["id"]
    assert direct["body"][0] == ["evt_same"]
    assert direct["headers"]["expires"] is None


def test_a_kick_that_expires_is_the_same_message_both_ways(client: redis.Redis, held_clock: datetime) -> None:
    queue = broker.redis_queue(dispatch_due)

    broker._celery_publish(dispatch_due, (), expires=60, fresh=True)
    by_celery = _newest(client, queue)
    broker._redis_publish(dispatch_due, (), expires=60, fresh=True, queue=queue)
    direct = _newest(client, queue)

    assert _without_identity(direct) == _without_identity(by_celery)
    assert datetime.fromisoformat(direct["headers"]["expires"]) - held_clock == timedelta(seconds=60)
    assert direct["properties"]["expiration"] == "60000"


@pytest.mark.parametrize("change", [{"task_routes": {"funnel.tasks.*": {"queue": "money"}}},
                                    {"broker_url": "filesystem://"},
                                    {"broker_transport_options": {"global_keyprefix": "funnel:"}}])
def test_anything_but_a_plain_redis_queue_goes_through_celery(change: dict[str, Any]) -> None:
    saved = {key: app.conf[key] for key in change}
    app.conf.update(change)
    try:
        assert broker.redis_queue(process_stripe_event) == ""
    finally:
        app.conf.update(saved)


def _kill_other_clients_of_this_database(client: redis.Redis) -> int:
    """What a broker restart does to the kept connection (only this test run's Redis database is touched)."""
    own, db = client.client_id(), client.connection_pool.connection_kwargs.get("db", 0)
    clients = cast(list[dict[str, str]], client.client_list())
    others = [c["id"] for c in clients if int(c["db"]) == db and int(c["id"]) != own]
    for client_id in others:
        client.client_kill_filter(_id=client_id)
    return len(others)


@pytest.mark.parametrize("path", ["celery", "direct"])
def test_a_publish_after_a_broker_restart_gets_through(path: str, client: redis.Redis) -> None:
    if path == "celery":
        app.conf.task_routes = ROUTED_TO_CELERY
    try:
        assert broker.task_publish(process_stripe_event, "evt_before")
        assert _kill_other_clients_of_this_database(client) >= 1
        assert broker.task_publish(process_stripe_event, "evt_after")
    finally:
        app.conf.task_routes = None
    assert [_newest(client, "celery")["body"][0] for _ in range(2)] == [["evt_after"], ["evt_before"]]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


@pytest.mark.parametrize("path", ["celery", "direct"])
def test_a_refused_broker_costs_one_short_try_then_nothing_for_a_while(path: str) -> None:
    saved = app.conf.broker_url
    app.conf.update(broker_url=f"redis://127.0.0.1:{_dead_port()}/0")
    if path == "celery":
        app.conf.task_routes = ROUTED_TO_CELERY
    try:
        started = time.monotonic()
        assert broker.task_publish(process_stripe_event, "evt_lost") is False
        assert broker.task_publish(dispatch_due, expires=60) is False  # backing off, whichever task: no try
        assert time.monotonic() - started < 2.0
    finally:
        app.conf.update(broker_url=saved, task_routes=None)

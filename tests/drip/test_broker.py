"""Publishing from a request (emails.broker): a kick expires, a broker restart costs no publish, and a dead broker
holds no request."""

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


def test_a_kick_expires_a_minute_after_it_was_queued(client: redis.Redis, held_clock: datetime) -> None:
    assert broker.task_publish(dispatch_due, expires=60)
    message = _newest(client, "celery")
    assert message["headers"]["task"] == "emails.tasks.dispatch_due"
    assert datetime.fromisoformat(message["headers"]["expires"]) - held_clock == timedelta(seconds=60)


def test_a_stripe_event_is_queued_without_an_expiry(client: redis.Redis) -> None:
    assert broker.task_publish(process_stripe_event, "evt_1")
    message = _newest(client, "celery")
    assert message["body"][0] == ["evt_1"] and message["headers"]["expires"] is None


def _kill_other_clients_of_this_database(client: redis.Redis) -> int:
    """What a broker restart does to the kept connection (only this test run's Redis database is touched)."""
    own, db = client.client_id(), client.connection_pool.connection_kwargs.get("db", 0)
    clients = cast(list[dict[str, str]], client.client_list())
    others = [c["id"] for c in clients if int(c["db"]) == db and int(c["id"]) != own]
    for client_id in others:
        client.client_kill_filter(_id=client_id)
    return len(others)


def test_a_publish_after_a_broker_restart_gets_through(client: redis.Redis) -> None:
    assert broker.task_publish(process_stripe_event, "evt_before")
    assert _kill_other_clients_of_this_database(client) >= 1
    assert broker.task_publish(process_stripe_event, "evt_after")
    assert [_newest(client, "celery")["body"][0] for _ in range(2)] == [["evt_after"], ["evt_before"]]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


def test_a_refused_broker_costs_one_short_try_then_nothing_for_a_while() -> None:
    saved = app.conf.broker_url
    app.conf.update(broker_url=f"redis://127.0.0.1:{_dead_port()}/0")
    try:
        started = time.monotonic()
        assert broker.task_publish(process_stripe_event, "evt_lost") is False
        assert broker.task_publish(dispatch_due, expires=60) is False  # backing off, whichever task: no try
        assert time.monotonic() - started < 2.0
    finally:
        app.conf.update(broker_url=saved)

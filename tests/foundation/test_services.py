"""The real PostgreSQL and Redis are what the suite runs on in CI, and a real worker round-trips a task."""

from typing import Any

import pytest
from django.db import connection

from config.celery import ping


@pytest.mark.postgres
@pytest.mark.django_db
def test_runs_on_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


@pytest.mark.redis
def test_cache_is_redis() -> None:
    from django.core.cache import caches

    cache = caches["default"]
    cache.set("foundation-check", "here", 10)
    assert cache.get("foundation-check") == "here"
    assert type(cache).__name__ == "RedisCache"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_round_trips_a_task_over_redis(celery_worker_process: Any) -> None:
    celery_worker_process.start()
    result = ping.delay()
    assert result.get(timeout=30) == "pong", celery_worker_process.log()

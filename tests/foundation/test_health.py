"""/healthz (liveness) and /readyz (each part's state) with the real PostgreSQL and a real Redis taken away.

A load balancer takes a web process out when its probe fails; the process must stay in while it can take signups
(Redis down: degraded), and go out only when it cannot (the database down).
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from config.celery import app
from tests.conftest import ROOT, free_port
from tests.private_redis import PrivateRedis, private_redis_running

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

EVERY_PART_OK = {"database": "ok", "broker": "ok", "cache": "ok"}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (never the shared one), which the test stops or freezes."""
    with private_redis_running(tmp_path / "redis") as server:
        yield server


def point_redis_at(url: str, settings: Any, monkeypatch: Any) -> None:
    """Broker and cache on `url`, as REDIS_URL would set them."""
    monkeypatch.setattr(app.conf, "broker_url", url)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}


def probe(path: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = Client().get(path)
    return response.status_code, response.json(), time.monotonic() - started


def test_every_part_answering_is_ok() -> None:
    code, body, _ = probe("/healthz")
    assert (code, body) == (200, {"status": "ok", "down": [], "checks": EVERY_PART_OK})
    code, body, _ = probe("/readyz")
    assert (code, body["status"], body["down"]) == (200, "ok", [])
    assert {name: part["state"] for name, part in body["parts"].items()} == EVERY_PART_OK
    assert (body["parts"]["database"]["backend"], body["parts"]["broker"]["backend"],
            body["parts"]["cache"]["backend"]) == ("postgresql", "redis", "redis")


def test_redis_stopped_is_degraded_not_down(redis_server: PrivateRedis, settings: Any, monkeypatch: Any) -> None:
    point_redis_at(redis_server.url, settings, monkeypatch)
    assert probe("/healthz")[:2] == (200, {"status": "ok", "down": [], "checks": EVERY_PART_OK})

    redis_server.kill()  # connections refused
    code, body, _ = probe("/healthz")
    assert code == 200, "a load balancer must keep a process that can still take signups"
    assert body == {"status": "degraded", "down": ["broker", "cache"],
                    "checks": {"database": "ok", "broker": "down", "cache": "down"}}
    code, body, _ = probe("/readyz")
    assert (code, body["status"], body["down"]) == (200, "degraded", ["broker", "cache"])
    broker, cache = body["parts"]["broker"], body["parts"]["cache"]
    assert (broker["state"], broker["backend"], cache["state"], cache["backend"]) == ("down", "redis", "down", "redis")
    assert "signups still work" in broker["impact"] and "rate limits" in cache["impact"]
    assert body["parts"]["database"]["state"] == "ok"


def test_a_frozen_redis_cannot_hang_the_probe(redis_server: PrivateRedis, settings: Any, monkeypatch: Any) -> None:
    point_redis_at(redis_server.url, settings, monkeypatch)
    redis_server.freeze()  # accepts connections, never answers: a client without a timeout waits forever
    for path in ("/healthz", "/readyz"):
        code, body, took = probe(path)
        assert (code, body["status"], body["down"]) == (200, "degraded", ["broker", "cache"])
        assert took < 2.0, f"{path} took {took:.2f} s with Redis frozen; load balancers time out at 2-5 s"


def test_the_database_down_is_503_naming_it(tmp_path: Path) -> None:
    # A process of its own whose DATABASE_URL points at a closed port: the real driver fails to connect.
    # (Redis is the shared, healthy one: only the database is down.)
    script = (
        "import json, django; django.setup(); from django.test import Client\n"
        "for path in ('/healthz', '/readyz'):\n"
        "    r = Client().get(path); print(json.dumps([path, r.status_code, r.json()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.test_settings", "VAR_DIR": str(tmp_path),
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"})
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = {path: (code, body) for path, code, body in map(json.loads, result.stdout.splitlines())}
    assert answers["/healthz"] == (503, {"status": "down", "down": ["database"],
                                         "checks": {"database": "down", "broker": "ok", "cache": "ok"}})
    code, body = answers["/readyz"]
    assert (code, body["status"], body["down"]) == (503, "down", ["database"])
    assert body["parts"]["database"]["error"] == "OperationalError"
    assert "nowhere" not in json.dumps(body), "a public endpoint must not show connection details"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_plain_http_get_only_and_never_cached(path: str, settings: Any) -> None:
    # Production redirects http to https; a probe speaks plain HTTP to the container and must not be redirected.
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/").status_code == 301, "the redirect is on for pages"
    response = client.get(path)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    assert client.post(path, secure=True).status_code == 405
    assert client.head(path, secure=True).status_code == 405

"""Fault-test fixtures: a private redis-server we may stop (tests/private_redis.py), and a real gunicorn serving
the test database."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.checkout import conftest as checkout_fixtures
from tests.conftest import ROOT, database_url_for_subprocess, free_port, stop_process_group, wait_until
from tests.private_redis import PrivateRedis, private_redis_running

# H5's local fake of Stripe's API (the real `stripe` library talks to it), reused rather than copied.
fake_stripe = checkout_fixtures.fake_stripe


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis_running(tmp_path / "redis") as server:
        yield server


class WebServer:
    """gunicorn serving config.wsgi on the test database (the test must use transaction=True)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env["VAR_DIR"]) / "gunicorn.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WebServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "30"],
            cwd=ROOT, env=self.env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                return requests.get(f"{self.url}/thanks/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_until(up, timeout=60, interval=0.2, what="gunicorn")
        except BaseException:
            self.stop()  # not handed to the fixture yet, so nothing else would stop it (or its respawning workers)
            raise
        return self

    def stop(self) -> None:
        stop_process_group(self.proc)


@pytest.fixture
def web_env(worker_env: dict[str, str]) -> dict[str, str]:
    """Production settings (DEBUG off) as the test settings adjust them for plain HTTP on loopback."""
    env = dict(worker_env)
    env.update({"DJANGO_SETTINGS_MODULE": "config.test_settings", "DEBUG": "false",
                "DATABASE_URL": database_url_for_subprocess(), "SIGNUP_RATE_LIMIT": "1000/h"})
    return env


@pytest.fixture
def web_server(web_env: dict[str, str]) -> Iterator[Any]:
    """Call with the env overrides; the server is stopped after the test."""
    servers: list[WebServer] = []

    def start(**overrides: str) -> WebServer:
        server = WebServer({**web_env, **overrides}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()

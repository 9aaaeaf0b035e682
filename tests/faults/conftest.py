"""Fault-test fixtures: a private redis-server we may stop, and a real gunicorn serving the test database.

The machine's shared Redis (the one REDIS_URL names) is never stopped: every test that takes Redis away starts
its own `redis-server` on a free port, with persistence off, and owns that process.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.checkout import conftest as checkout_fixtures
from tests.conftest import IN_CI, ROOT, database_url_for_subprocess, free_port, stop_process_group, wait_until

# H5's local fake of Stripe's API (the real `stripe` library talks to it), reused rather than copied.
fake_stripe = checkout_fixtures.fake_stripe


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(self.answers, timeout=15, what="the private redis-server")
        return self

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """Gone: connections are refused."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        """Hung: the kernel still accepts connections, nothing ever answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("CI=true but redis-server is not installed")
        pytest.skip("needs the redis-server binary")
    server = PrivateRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.thaw()
            server.kill()


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

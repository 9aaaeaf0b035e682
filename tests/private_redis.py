"""A redis-server of a test's (or a clock run's) own, on a free port, with persistence off.

The machine's shared Redis (the one REDIS_URL names) is never stopped or frozen: a test that takes Redis away, and
each lane of `make test-clocks`, starts one of these and owns that process.
"""

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import IN_CI, free_port, wait_until


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        """Start (or, after `kill`, restart on the same port) and wait until it answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until(self.answers, timeout=15, what="the private redis-server")
        except BaseException:
            self.stop()
            raise
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

    def stop(self) -> None:
        """Gone for good, frozen or not (a stopped process would not see a signal until continued)."""
        if self.proc and self.proc.poll() is None:
            self.thaw()
            self.kill()


@contextmanager
def private_redis_running(workdir: Path) -> Iterator[PrivateRedis]:
    """For a fixture: a started PrivateRedis, stopped afterwards. Without the binary the test skips (fails in CI)."""
    if not PrivateRedis.available():
        if IN_CI:
            pytest.fail("CI=true but redis-server is not installed")
        pytest.skip("needs the redis-server binary")
    server = PrivateRedis(workdir).start()
    try:
        yield server
    finally:
        server.stop()

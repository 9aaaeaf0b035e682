"""The stand-ins the production walk needs around the app: a fresh database and Redis db, the fake ESP and fake
Stripe at the HTTP boundary, the ESP's signed tracking callbacks, and the app's own processes started through the
image's entrypoints (bin/web, bin/worker, bin/beat)."""

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis

from tests.drip.fake_esp import FakePostmark

ROOT = Path(__file__).resolve().parents[2]


def database_recreate(url: str) -> None:
    """Drop and create the walk's own database, so every run starts from nothing."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_flush(url: str) -> None:
    redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    """Run an entrypoint to completion; its output goes to `log`, and a failure raises with its tail."""
    with log.open("ab") as out:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {done.returncode}:\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Processes:
    """Long-running children, each in its own process group, stopped together."""

    env: dict[str, str]
    logs: Path
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)

    def check_alive(self) -> None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited {proc.returncode}:\n{tail(self.logs / f'{name}.log')}")

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in self.children.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


class TrackingESP(FakePostmark):
    """The fake Postmark API, plus what the real one does after accepting a message: it calls our tracking
    webhook with a signed (basic-auth) Delivery event — late (after the API answer) and twice, as ESPs do."""

    def __init__(self, *, webhook: Callable[[bytes], int]) -> None:
        super().__init__()
        self.webhook = webhook
        self.callbacks: list[int] = []
        self.errors: list[str] = []
        self._sent = 0
        self._stop = threading.Event()
        self._poster = threading.Thread(target=self._post_events, daemon=True)

    def __enter__(self) -> "TrackingESP":
        super().__enter__()
        self._poster.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._poster.join(timeout=5)
        super().__exit__(*exc)

    def _post_events(self) -> None:
        while not self._stop.wait(0.2):
            while self._sent < len(self.accepted):
                message = self.accepted[self._sent]
                self._sent += 1
                event = {"RecordType": "Delivery", "ServerID": 1, "MessageStream": "outbound",
                         "MessageID": message["MessageID"], "Recipient": message["To"],
                         "Tag": message.get("Tag", ""), "Metadata": message.get("Metadata") or {},
                         "DeliveredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                         "Details": "smtp;250 2.0.0 OK"}
                body = json.dumps(event).encode()
                for _ in range(2):  # delivered twice, as ESPs retry
                    try:
                        self.callbacks.append(self.webhook(body))
                    except OSError as exc:  # the web server is stopping at the end of the walk
                        self.callbacks.append(-1)
                        self.errors.append(str(exc))

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in list(self.accepted) if address in m["To"]]

    def wait_for(self, address: str, tag: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages_to(address):
                if message.get("Tag") == tag:
                    return message
            time.sleep(0.1)
        seen = [m.get("Tag") for m in self.messages_to(address)]
        raise AssertionError(f"no {tag!r} email to {address} within {timeout:.0f}s (got {seen})")


def unique_address() -> str:
    return f"walk-{uuid.uuid4().hex[:10]}@example.com"

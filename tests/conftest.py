"""Shared fixtures: the real services (PostgreSQL, Redis, a Celery worker, an SMTP server, Chromium).

On a laptop without a service, its tests skip with the reason. With CI=true they fail instead, loudly:
CI must prove the real parts work.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Playwright's sync API keeps an event loop on the test thread; Django's ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# --clock-at: the whole run (and its child processes) at another instant; see tests/clock.py.
pytest_plugins = ["tests.clock"]

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# Debian's chromium by default; CHROMIUM_PATH names another binary (and lets a test pretend there is none).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_INSTALL_HINT = "apt-get install chromium"
NO_CHROMIUM = f"needs Chromium at {CHROMIUM} ({CHROMIUM_INSTALL_HINT})"


def _postgres_available() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _chromium_available() -> bool:
    return Path(CHROMIUM).exists()


_SERVICES = {
    "postgres": (_postgres_available, "needs PostgreSQL (set DATABASE_URL)"),
    "redis": (_redis_available, "needs Redis (set REDIS_URL)"),
    "browser": (_chromium_available, NO_CHROMIUM),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache: dict[str, bool] = {}
    for item in items:
        for marker, (available, reason) in _SERVICES.items():
            if marker not in item.keywords:
                continue
            if marker not in cache:
                cache[marker] = available()
            if cache[marker]:
                continue
            if IN_CI:
                item.user_properties.append(("missing", reason))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


# How to run what a missing service skipped, for the last lines of `make test`.
_HOW_TO_RUN = {
    "postgres": "start PostgreSQL and set DATABASE_URL=postgres://postgres@127.0.0.1:5432/funnel",
    "redis": "start Redis and set REDIS_URL=redis://127.0.0.1:6379/0",
    "browser": f"{CHROMIUM_INSTALL_HINT} (or set CHROMIUM_PATH to a Chromium binary)",
}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    # Outermost wrapper: runs after pytest printed its summary, so these are the last lines of `make test`.
    result = yield
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return result
    skipped = reporter.stats.get("skipped", [])
    for marker, (_, reason) in _SERVICES.items():
        nodeids = [report.nodeid for report in skipped
                   if isinstance(report.longrepr, tuple) and reason in str(report.longrepr[2])]
        if not nodeids:
            continue
        reporter.write_sep("=", f"{len(nodeids)} tests skipped: {reason}", yellow=True)
        for nodeid in nodeids:
            reporter.write_line(f"  not run: {nodeid}")
        reporter.write_line(f"To run them: {_HOW_TO_RUN[marker]}, then make test again.")
    return result


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not a usefixtures marker: fixtures added after collection are never set up, so the test would run
    # and fail (or pass) for some other reason instead of saying which service is missing.
    missing = [str(value) for key, value in item.user_properties if key == "missing"]
    if missing:
        pytest.fail(f"CI=true but the service is missing: {'; '.join(missing)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy. Synchronisation on an observable state, not a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def database_url_for_subprocess() -> str:
    """The URL of the database the tests use right now (the test database), for a child process."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def stop_process_group(proc: "subprocess.Popen[bytes] | None", timeout: float = 20) -> None:
    """SIGTERM a child's whole process group (it was started with start_new_session), SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


class WorkerProcess:
    """A real `celery worker` child process on the test's database and broker."""

    def __init__(self, env: dict[str, str], queues: str = "celery,transactional", concurrency: int = 1) -> None:
        self.env = env
        self.queues = queues
        self.concurrency = concurrency
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(env.get("VAR_DIR", "/tmp")) / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "-Q", self.queues, "--without-heartbeat",
             "--without-gossip", "--without-mingle", f"--hostname=test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: b"ready." in self.log_path.read_bytes() or self.proc.poll() is not None,  # type: ignore[union-attr]
                   timeout=60, what="the celery worker to be ready")
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
        return self

    def kill(self, sig: int = 9) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        stop_process_group(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a child process that shares this test's database and broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env["DATABASE_URL"] = database_url_for_subprocess()
    env["VAR_DIR"] = str(tmp_path / "var")
    env["DEBUG"] = "true"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return env


@pytest.fixture
def celery_worker_process(worker_env: dict[str, str]) -> Iterator[WorkerProcess]:
    """Start with `.start()`; stopped (and killed if need be) after the test."""
    worker = WorkerProcess(worker_env)
    yield worker
    worker.stop()


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free loopback port; `.messages` holds what it received."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[Any] = []

        def handle_message(self, message: Any) -> None:
            self.messages.append(message)

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.messages = handler.messages  # type: ignore[attr-defined]
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not _chromium_available():
        if IN_CI:
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}")
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def marketer(db: None) -> Any:
    """A staff user in the view-only "marketing" group (setup_marketing_group), as a marketer would be."""
    import io

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    call_command("setup_marketing_group", stdout=io.StringIO())
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    return user


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """What a process keeps between sends must not leak from another test: the sequence timing (cached for 10 s; a
    value read inside another test's rolled-back transaction), the per-step renders, keyed by ids that SQLite
    hands out again after a rollback (PostgreSQL's sequences never do), and the embedded default's in-memory rate
    limit counts (their windows expire by a clock the tests move)."""
    from emails.content.timing import sequence_timing_forget
    from emails.render_cache import step_cache_forget
    from leads.ratelimit import rate_limits_forget

    sequence_timing_forget()
    step_cache_forget()
    rate_limits_forget()


@pytest.fixture(autouse=True)
def _no_esp_pause_from_another_test() -> None:
    """An ESP's 429 pause is shared by every worker through the cache (emails/esp_throttle.py). Redis expires it by
    its own clock; the embedded default's file cache by `time.time()`, which a test may have moved years ahead, so a
    pause set under one test's clock would hold the next test's dispatcher (at SQLite's turn in CI: hung)."""
    from django.core.cache import cache

    from emails.esp_throttle import PAUSE_KEY

    with contextlib.suppress(Exception):  # a test that took the cache down (faults) starts without one
        cache.delete(PAUSE_KEY)


@pytest.fixture(autouse=True)
def _isolated_outbox(settings: Any, tmp_path: Path) -> None:
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def mailoutbox_dir(settings: Any) -> Path:
    return Path(settings.EMAIL_OUTBOX_DIR)


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None

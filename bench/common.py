"""What every benchmark shares: its own throw-away PostgreSQL database, Django set up on it, and medians.

A benchmark never touches a test database: it creates `funnel_bench_<name>` on the server named by
BENCH_DATABASE_URL (default: the server of DATABASE_URL, else 127.0.0.1:5432), builds the tables from the current
models (as pytest does) and drops the database when it ends. Redis: BENCH_REDIS_URL (default db 14), flushed.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def scale() -> float:
    """BENCH_SCALE multiplies every N (default 1.0: the sizes the README quotes). --quick sets 0.1."""
    return float(os.environ.get("BENCH_SCALE", "1.0"))


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, int(n * scale()))


def runs() -> int:
    return int(os.environ.get("BENCH_RUNS", "3"))


def server_url() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    return base


def database_url(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/funnel_bench_{name}", "", ""))


def redis_url() -> str:
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/14", "", ""))


def _psql(sql: str) -> None:
    parts = urlsplit(server_url())
    subprocess.run(["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                    "-U", parts.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
                   check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})


def database_create(name: str) -> str:
    """A fresh, empty benchmark database; returns its URL. Any leftover from an interrupted run is dropped."""
    database_drop(name)
    _psql(f"CREATE DATABASE funnel_bench_{name}")
    return database_url(name)


def database_drop(name: str) -> None:
    _psql(f"DROP DATABASE IF EXISTS funnel_bench_{name} WITH (FORCE)")


def bench_env(name: str, **extra: str) -> dict[str, str]:
    """Environment for this benchmark's processes (Django, gunicorn, Celery workers)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DATABASE_URL": database_url(name), "REDIS_URL": redis_url(), "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop", "ANYMAIL_WEBHOOK_SECRET": "bench:secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "LOG_LEVEL": "WARNING", "DRIP_KICK_ON_QUEUE": "false",
        "VAR_DIR": str(ROOT / "var" / f"bench-{name}"),
    })
    env.update(extra)
    return env


def django_setup(name: str, **extra: str) -> None:
    """Point this process at the benchmark database and build the tables from the models."""
    os.environ.update(bench_env(name, **extra))
    import django

    django.setup()
    from django.core.management import call_command

    # Django's own apps by their migrations first: our tables, built from the models, refer to auth_user.
    for app in ("contenttypes", "auth", "sessions", "admin"):
        call_command("migrate", app, verbosity=0)
    call_command("migrate", run_syncdb=True, verbosity=0)


def literal_columns(model: Any, generated: dict[str, str]) -> tuple[list[str], list[str], list[Any]]:
    """Columns of `model` for an INSERT … SELECT: SQL for `generated` ones, each field's default for the rest."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f.column)
        if f.column in generated:
            expressions.append(generated[f.column])
        elif f.null and not f.has_default():
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection=connection))
    return columns, expressions, params


def redis_flush() -> None:
    import redis

    redis.Redis.from_url(redis_url()).flushdb()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def stop_process_group(proc: "subprocess.Popen[bytes]", timeout: float = 30) -> None:
    """SIGTERM a child started with start_new_session (and its children); SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def bench_database(name: str) -> Iterator[str]:
    url = database_create(name)
    try:
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP"):
            database_drop(name)


@contextmanager
def filled_database(name: str, fill: Callable[[], Any]) -> Iterator[float]:
    """A benchmark database with this process's Django pointed at it, filled by `fill`: yields the seconds the fill
    took, and drops the database afterwards."""
    with bench_database(name):
        django_setup(name)
        load_seconds, _ = timed(fill)
        yield load_seconds


def emit(result: dict[str, Any]) -> None:
    """The one line run_all reads back: every benchmark prints its figures as JSON, tagged."""
    print("BENCH-RESULT " + json.dumps(result), flush=True)

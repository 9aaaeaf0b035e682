"""Health for load balancers and operators: `/healthz` (liveness) and `/readyz` (each part's state).

Signups need only the database: a lead, its consent record and its email rows are committed before anything
touches Redis, and beat catches up on whatever the broker missed. So the database down is fatal (503), while
the broker or the cache down is "degraded" (200, named in the body) and the site keeps taking signups.

Every check has a short timeout (CHECK_TIMEOUT_SECONDS) so a frozen Redis cannot hang a probe: a load balancer
that waits longer than its own timeout would take the site out exactly when it should stay in.
"""

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 0.5
# What each part being down means for a reader; the database is the only part signups cannot do without.
FATAL = {"database"}
IMPACT = {
    "database": "signups, sign-ins, checkout and every page with data fail",
    "broker": "signups still work; emails wait until beat reaches the broker again (nothing is lost)",
    "cache": "signups still work; rate limits are not enforced until the cache answers again",
}


class CheckFailed(Exception):
    """A part answered, but not as expected."""


def _redis_ping(url: str) -> None:
    # A client of our own, not the app's pooled one: fixed timeouts and no retries, so one probe costs at most
    # CHECK_TIMEOUT_SECONDS to connect plus as much to read, even when Redis accepts connections but never answers.
    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                                  socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        if not client.ping():
            raise CheckFailed("PING was not answered with PONG")
    finally:
        client.close()


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise CheckFailed("SELECT 1 did not return 1")


def check_broker() -> None:
    url = str(app.conf.broker_url or "")
    if url.startswith(("redis://", "rediss://")):
        _redis_ping(url)
    elif url.startswith("filesystem://"):
        # Development's embedded broker: a folder the web process must be able to write messages into.
        folder = Path(str((app.conf.broker_transport_options or {}).get("data_folder_in", "")))
        if not folder.is_dir():
            raise CheckFailed(f"queue folder {folder} is missing")
    else:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)


def check_cache() -> None:
    config = settings.CACHES["default"]
    if config["BACKEND"].endswith("RedisCache"):
        locations = config["LOCATION"]
        for url in locations.split(",") if isinstance(locations, str) else locations:
            _redis_ping(url.strip())
        return
    cache = caches["default"]
    cache.set("healthz-probe", "ok", 10)
    if cache.get("healthz-probe") != "ok":
        raise CheckFailed("a value written was not read back")


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker, "cache": check_cache}


def _backends() -> dict[str, str]:
    """What each part is (postgresql, redis, filesystem, ...), so an operator reading /readyz knows what to fix."""
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return {"database": connection.vendor, "broker": str(app.conf.broker_url or "").split("://", 1)[0],
            "cache": cache_backend.removesuffix("Cache").lower()}


def _run(name: str, check: Callable[[], None], backend: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        check()
        state: dict[str, Any] = {"state": "ok", "backend": backend}
    except Exception as exc:  # any error from any driver means "down"; the log and the body say which
        logger.warning("health: %s down: %s: %s", name, type(exc).__name__, exc)
        # The class only: driver messages carry host names and user names, and this endpoint is public.
        state = {"state": "down", "backend": backend, "error": type(exc).__name__, "impact": IMPACT[name]}
    state["ms"] = round((time.monotonic() - started) * 1000, 1)
    return state


def _status() -> tuple[int, dict[str, Any]]:
    backends = _backends()
    parts = {name: _run(name, check, backends[name]) for name, check in CHECKS.items()}
    down = [name for name, part in parts.items() if part["state"] == "down"]
    fatal = [name for name in down if name in FATAL]
    status = "down" if fatal else "degraded" if down else "ok"
    return (503 if fatal else 200), {"status": status, "down": down, "parts": parts}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 while this web process can take signups; 503 only when the database is down."""
    code, body = _status()
    checks = {name: part["state"] for name, part in body["parts"].items()}
    return JsonResponse({"status": body["status"], "down": body["down"], "checks": checks}, status=code)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Details: each part's state, how long its check took, the error class, and what it means for readers."""
    code, body = _status()
    return JsonResponse(body, status=code)

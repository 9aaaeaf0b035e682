"""One send rate for every worker on every machine, and one pause after the ESP says "too many requests".

ESP_MAX_MESSAGES_PER_SECOND and ESP_MAX_REQUESTS_PER_SECOND (empty: no limit) are counted by `limits` (a moving
window, so no second ever holds more than the limit) in Redis when REDIS_URL is set, shared by every worker; without
Redis (`make run`: one worker) in this process's memory. A 429 sets one "paused until" instant in the shared cache
that every worker honours before its next request (the ESP's Retry-After, else a few seconds).

The dispatcher asks for its turn before it marks a chunk handed over, so a worker killed while it waits leaves
rows that simply go back to `scheduled`. If Redis fails, sending goes on unthrottled (logged): the broker is on the
same Redis, so little runs then anyway, and stopping all mail for a counter would be worse.
"""

import logging
import time
from datetime import date
from functools import cache

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.utils import timezone
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

PAUSE_KEY = "esp:paused-until"
DEFAULT_PAUSE_SECONDS = 2.0  # after a 429 with no Retry-After
MAX_PAUSE_SECONDS = 300.0
MAX_WAIT_STEP = 0.5


@cache
def _limiter() -> MovingWindowRateLimiter:
    storage: Storage = RedisStorage(settings.REDIS_URL, key_prefix="esp-rate") if settings.REDIS_URL \
        else MemoryStorage()
    return MovingWindowRateLimiter(storage)


def messages_per_request_cap() -> int | None:
    """A request must fit in one second's allowance (the marketing share of it), or it would never get its turn."""
    limit = settings.ESP_MAX_MESSAGES_PER_SECOND
    return max(1, int(limit * (1 - settings.ESP_TRANSACTIONAL_SHARE))) if limit else None


def requests_cap() -> int | None:
    limit = settings.ESP_MAX_REQUESTS_PER_SECOND
    return max(1, int(limit * (1 - settings.ESP_TRANSACTIONAL_SHARE))) if limit else None


def pause_all(seconds: float | None) -> float:
    """Every worker waits `seconds` (the ESP's Retry-After; a default when it gave none) before its next request."""
    wait = DEFAULT_PAUSE_SECONDS if seconds is None else max(0.0, seconds)
    until = time.time() + wait
    try:
        current = shared_cache.get(PAUSE_KEY) or 0.0
        if until > current:
            shared_cache.set(PAUSE_KEY, until, timeout=int(wait) + 2)
    except Exception:  # noqa: BLE001 - the cache is down: only this worker pauses (its rows wait their Retry-After)
        logger.warning("could not share the ESP pause", exc_info=True)
    logger.warning("ESP asked to slow down: every worker pauses %.1f s", wait)
    return wait


def _paused_until() -> float:
    try:
        return float(shared_cache.get(PAUSE_KEY) or 0.0)
    except Exception:  # noqa: BLE001 - see the module docstring
        return 0.0


def wait_for_turn(*, messages: int, requests: int, transactional: bool = False) -> float:
    """Block until every worker together may send `messages` messages in `requests` requests now. Returns the
    seconds waited. Marketing mail never takes the share of each limit kept for transactional mail
    (ESP_TRANSACTIONAL_SHARE), so a sign-in link always finds room, however large the marketing send."""
    started = time.monotonic()
    honoured = 0.0
    # Each pause is slept once by the monotonic clock (a test may hold the wall clock still); a later, longer
    # pause set meanwhile by another worker is honoured too.
    while (until := _paused_until()) > honoured and (pause := until - time.time()) > 0:
        time.sleep(min(pause, MAX_PAUSE_SECONDS))
        honoured = until
    for per_second, cost in ((settings.ESP_MAX_MESSAGES_PER_SECOND, messages),
                             (settings.ESP_MAX_REQUESTS_PER_SECOND, requests)):
        if not per_second or cost <= 0:
            continue
        if not transactional:
            marketing = max(1, int(per_second * (1 - settings.ESP_TRANSACTIONAL_SHARE)))
            _acquire(RateLimitItemPerSecond(marketing), min(cost, marketing), lane="marketing")
        item = RateLimitItemPerSecond(per_second)
        _acquire(item, min(cost, item.amount), lane="all")
    waited = time.monotonic() - started
    if waited > 0.01:
        _count_throttled(waited)
    return waited


def _acquire(item: RateLimitItem, cost: int, *, lane: str) -> None:
    limiter = _limiter()
    while True:
        try:
            if limiter.hit(item, lane, cost=cost):
                return
            reset_at = limiter.get_window_stats(item, lane).reset_time
        except Exception:  # noqa: BLE001 - see the module docstring
            logger.warning("ESP rate limit storage failed: sending unthrottled", exc_info=True)
            return
        time.sleep(min(max(reset_at - time.time(), 0.005), MAX_WAIT_STEP))


def _throttled_key(day: date) -> str:
    return f"esp:throttled-ms:{day.isoformat()}"  # milliseconds every worker together waited for a turn that day


def _count_throttled(seconds: float) -> None:
    key = _throttled_key(timezone.now().date())
    try:
        shared_cache.add(key, 0, timeout=2 * 86400)
        shared_cache.incr(key, int(seconds * 1000))
    except Exception:  # noqa: BLE001 - a figure for the dashboard, never a reason to fail a send
        logger.debug("could not count throttled time", exc_info=True)


def throttled_seconds_on(day: date) -> float:
    """Seconds every worker together spent waiting for the ESP's rate limit or pause on `day` (UTC)."""
    try:
        return float(shared_cache.get(_throttled_key(day)) or 0) / 1000
    except Exception:  # noqa: BLE001 - the cache is down: no figure
        return 0.0

"""Every rate limit of the site (signup, sign-in, checkout, and whatever calls `rate_limit_hit`) through one
maintained limiter: the `limits` package, a fixed window per (scope, client bucket).

Storage: Redis when REDIS_URL is set, so every web process on every machine counts together; `limits` increments
and sets the expiry in one Lua call, one round trip per request. Without Redis (the embedded default, `make run`:
one web process) the counts live in this process's memory (`limits`' MemoryStorage): the Django file cache that
the embedded default uses elsewhere has no atomic increment (its incr() is a read then a write, so concurrent
requests lose counts), and a storage adapter for it would be our own code to maintain.

Fails open: when Redis is down, signups must still work (and quickly), so an error counts as "allowed" and is
logged. The Redis client has short socket timeouts for the same reason.
"""

import ipaddress
import logging
from functools import cache

from django.conf import settings
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A Redis that does not answer must cost a signup well under a second (tests/faults/test_redis_down.py).
_REDIS_TIMEOUT_SECONDS = 0.5


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/h' → (10, 3600)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()[:1]]


@cache
def _item(rate: str) -> RateLimitItem:
    limit, period = parse_rate(rate)
    return RateLimitItemPerSecond(limit, period)


@cache
def _limiter(redis_url: str) -> FixedWindowRateLimiter:
    """One limiter (and one connection pool) per process and storage; keyed by the URL so a test can point the
    settings at another Redis."""
    storage: Storage = MemoryStorage()
    if redis_url:
        storage = RedisStorage(redis_url, key_prefix="ratelimit", socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
                               socket_timeout=_REDIS_TIMEOUT_SECONDS)
    return FixedWindowRateLimiter(storage)


def _bucket(ip: str | None) -> str:
    """IPv6 clients usually own a whole /64, so counting single addresses would let one host rotate freely.

    An IPv4-mapped address (`::ffff:a.b.c.d`, what a dual-stack socket reports for an IPv4 client) is that IPv4
    client: as a /64 every IPv4 client in the world would share the bucket `::`."""
    if not ip:
        return "unknown"
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False).network_address)
    return str(addr)


def rate_limit_hit(*, scope: str, ip: str | None, rate: str) -> bool:
    """Count one attempt; True when this attempt is over the limit."""
    try:
        allowed = _limiter(settings.REDIS_URL).hit(_item(rate), scope, _bucket(ip))
    except Exception:  # noqa: BLE001 — any storage failure must not block a signup
        log.warning("rate limit storage unavailable; allowing the request", extra={"scope": scope})
        return False
    return not allowed


def rate_limits_forget() -> None:
    """Forget this process's in-memory counts (the embedded default's storage). For tests: MemoryStorage expires a
    window by `time.time()`, which a test's clock may hold still, so counts would carry over to the next test."""
    _limiter("").storage.reset()

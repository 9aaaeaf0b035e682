"""A fixed-window rate limit on the shared cache (Redis in production, so every web process counts together).

Fails open: when the cache is down, signups must still work (and quickly), so an error counts as "allowed"
and is logged. The Redis client is configured with short socket timeouts in settings for the same reason.
"""

import ipaddress
import logging
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/h' → (10, 3600)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()[:1]]


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


def _count_attempt(key: str, period: int) -> int:
    """Add one to the window's counter and return the new count; raises when the cache is unreachable."""
    cache = caches["default"]  # the backend itself: `django.core.cache.cache` is a proxy isinstance cannot see through
    if isinstance(cache, RedisCache):
        # One round trip instead of three (the cache API's add() is a SET NX, its incr() an EXISTS then an
        # INCR): INCR creates the key at 1 and counts atomically, and the TTL rides in the same pipeline.
        # Re-setting the TTL on every hit is harmless: the window number is in the key.
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)  # type: ignore[attr-defined]  # no public API
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, period + 5)
        count, _ = pipe.execute()
        return int(count)
    # Other caches (tests without Redis, development): add() is a no-op when the key exists.
    cache.add(key, 0, timeout=period + 5)
    return int(cache.incr(key))


def rate_limit_hit(*, scope: str, ip: str | None, rate: str) -> bool:
    """Count one attempt; True when this attempt is over the limit."""
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    key = f"ratelimit:{scope}:{_bucket(ip)}:{window}"
    try:
        count = _count_attempt(key, period)
    except Exception:  # noqa: BLE001 — any cache failure must not block a signup
        log.warning("rate limit cache unavailable; allowing the request", extra={"scope": scope})
        return False
    return bool(count > limit)

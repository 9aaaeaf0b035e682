"""A fixed-window rate limit on the shared cache (Redis in production, so every web process counts together).

Fails open: when the cache is down, signups must still work (and quickly), so an error counts as "allowed"
and is logged. The Redis client is configured with short socket timeouts in settings for the same reason.
"""

import ipaddress
import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/h' → (10, 3600)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()[:1]]


def _bucket(ip: str | None) -> str:
    """IPv6 clients usually own a whole /64, so counting single addresses would let one host rotate freely."""
    if not ip:
        return "unknown"
    addr = ipaddress.ip_address(ip)
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False).network_address)
    return str(addr)


def rate_limit_hit(*, scope: str, ip: str | None, rate: str) -> bool:
    """Count one attempt; True when this attempt is over the limit."""
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    key = f"ratelimit:{scope}:{_bucket(ip)}:{window}"
    try:
        # add() is a no-op when the key exists; incr() is atomic in Redis, so concurrent requests count exactly.
        cache.add(key, 0, timeout=period + 5)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 — any cache failure must not block a signup
        log.warning("rate limit cache unavailable; allowing the request", extra={"scope": scope})
        return False
    return bool(count > limit)

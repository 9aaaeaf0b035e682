"""The hourly confirmation caps booked in Redis: the speed trick behind `funnel.landing.abuse.confirmation_send_at`.

The plain version (abuse._book_in_database) raises two counter rows in the database, and the row of the total is
one row that every signup of the hour updates: its lock is held until the signup's transaction commits, so at a
launch-day peak the signups queue behind each other on it. Here the same booking is one Lua call, atomic in Redis,
with no lock held by anybody: one round trip whatever the outcome, held or not. Same rules, same answers
(tests/bots/test_caps_equivalence.py): try this hour; when full, start from the last hour booked for the domain or in
total, and take the first hour where both counters are under their caps.

Keys expire a day after their hour is over. Redis down or slow: the confirmation goes out now (logged), as the rate
limits fail open: a signup must never wait on the cache.
"""

import logging
import time
from functools import cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 0.5
_KEEP_SECONDS = 86400
_BACKOFF_SECONDS = 10.0
_suspended_until = 0.0

# ARGV: prefix, domain, hour, domain cap, total cap, max tries, keep seconds. Returns the hour booked.
_BOOK = """
local prefix, domain = ARGV[1], ARGV[2]
local hour, cap_domain, cap_total = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tries, keep = tonumber(ARGV[6]), tonumber(ARGV[7])
local function take(h)
  local d, t = prefix .. h .. ':' .. domain, prefix .. h .. ':*'
  if tonumber(redis.call('GET', d) or '0') >= cap_domain or tonumber(redis.call('GET', t) or '0') >= cap_total then
    return false
  end
  for _, key in ipairs({d, t}) do
    redis.call('INCR', key)
    redis.call('EXPIREAT', key, (h + 1) * 3600 + keep)
  end
  for _, key in ipairs({prefix .. 'last:' .. domain, prefix .. 'last:*'}) do
    if tonumber(redis.call('GET', key) or '0') < h then
      redis.call('SET', key, h)
      redis.call('EXPIREAT', key, (h + 1) * 3600 + keep)
    end
  end
  return true
end
if take(hour) then return hour end
local later = hour + 1
for _, key in ipairs({prefix .. 'last:' .. domain, prefix .. 'last:*'}) do
  local last = tonumber(redis.call('GET', key) or '0')
  if last > later then later = last end
end
for _ = 1, tries do
  if take(later) then return later end
  later = later + 1
end
return later
"""


# ARGV: prefix, domain, hour. Gives back one booking of that hour (never below zero). The hour stays the last
# booked (`last:`): a later overflow may then start one hour later than it had to, never earlier than it may.
_RELEASE = """
local prefix, domain, hour = ARGV[1], ARGV[2], ARGV[3]
for _, key in ipairs({prefix .. hour .. ':' .. domain, prefix .. hour .. ':*'}) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1
"""
_PREFIX = "confirm-cap:"


@cache
def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_connect_timeout=_TIMEOUT_SECONDS, socket_timeout=_TIMEOUT_SECONDS)


@cache
def _script(redis_url: str, source: str) -> "redis.commands.core.Script":
    return _client(redis_url).register_script(source)


def confirmation_hour_book(*, domain: str, hour: int, cap_domain: int, cap_total: int, tries: int) -> int | None:
    """The hour (since the epoch) whose allowance this confirmation takes, or None when Redis did not answer.

    After a failure Redis is not asked again for a while: a hung Redis costs one signup the timeout, not each."""
    global _suspended_until
    if time.monotonic() < _suspended_until:
        return None
    try:
        booked = _script(settings.REDIS_URL, _BOOK)(args=[_PREFIX, domain, hour, cap_domain, cap_total, tries,
                                                          _KEEP_SECONDS])
    except redis.RedisError:
        _suspended_until = time.monotonic() + _BACKOFF_SECONDS
        log.warning("confirmation caps unavailable (Redis); sending now")
        return None
    return int(booked)


def confirmation_hour_release(*, domain: str, hour: int) -> None:
    """Give back a booking whose confirmation was not queued after all. Best effort, as the booking."""
    global _suspended_until
    if time.monotonic() < _suspended_until:
        return
    try:
        _script(settings.REDIS_URL, _RELEASE)(args=[_PREFIX, domain, hour])
    except redis.RedisError:
        _suspended_until = time.monotonic() + _BACKOFF_SECONDS
        log.warning("confirmation caps unavailable (Redis); a booking was not given back")

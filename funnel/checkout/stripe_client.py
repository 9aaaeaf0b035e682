"""The one place that configures the `stripe` library: key, API base (a local fake in tests), timeout, retries.

A `StripeClient` instance rather than the module globals, so nothing else in the process can change where our
requests go or with which key.
"""

from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def stripe_live_mode() -> bool:
    """Whether the configured key moves real money; a session's `livemode` must match it."""
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


def stripe_is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def simulator_enabled() -> bool:
    """The local checkout simulator stands in for Stripe only in development without a key."""
    return settings.DEBUG and not stripe_is_configured()


def stripe_key_reusable(exc: stripe.StripeError) -> bool:
    """Whether the request that failed with `exc` may be sent again under the same Idempotency-Key.

    Stripe stores the first answer to a key for 24 h and replays it, a 500 included; an idempotency error means
    the key is spoiled. Only a request that may never have reached Stripe, or whose answer never reached us (a
    connection error, a timeout: the library raises APIConnectionError for both, after its own retries under
    the same key), may be sent again under its key, so Stripe replays rather than repeats what it may have done.
    After any answer from Stripe the next attempt needs a new key.
    """
    return isinstance(exc, stripe.APIConnectionError)


def stripe_client() -> stripe.StripeClient:
    if not stripe_is_configured():
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set")
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE.rstrip("/"),
                   float(settings.STRIPE_API_TIMEOUT_SECONDS), int(settings.STRIPE_MAX_NETWORK_RETRIES))


@lru_cache(maxsize=4)
def _client(key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    # One client per configuration, so connections are kept alive (the HTTP client keeps one session per thread).
    base_addresses: dict[str, Any] = {"api": api_base} if api_base else {}
    return stripe.StripeClient(
        key,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        # The library retries timeouts and connection errors itself, re-sending the same Idempotency-Key.
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )

"""The one place that configures the `stripe` library: key, API base (a local fake in tests), timeout, retries.

A `StripeClient` instance rather than the module globals, so nothing else in the process can change where our
requests go or with which key.
"""

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


def stripe_client() -> stripe.StripeClient:
    if not stripe_is_configured():
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set")
    base_addresses: dict[str, Any] = {}
    if settings.STRIPE_API_BASE:
        base_addresses["api"] = settings.STRIPE_API_BASE.rstrip("/")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        # The library retries timeouts and connection errors itself, re-sending the same Idempotency-Key.
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_API_TIMEOUT_SECONDS),
    )

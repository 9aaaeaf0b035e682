"""Helpers for the signup tests: a valid form, and leads in each state."""

import ipaddress
import itertools
import secrets
from typing import Any

import pytest
from django.test import Client

from leads.consent import CONSENT_VERSION
from leads.models import Lead

# Random start: rate-limit counters live in Redis for an hour, across test runs.
_ips = itertools.count(secrets.randbelow(2**23))


def unique_ip() -> str:
    """A fresh client address per call, so the per-IP rate limit (shared Redis) never leaks between tests."""
    return str(ipaddress.IPv4Address("10.0.0.0") + next(_ips) % 2**24)


def form_data(**overrides: Any) -> dict[str, str]:
    data = {"email": "reader@example.com", "first_name": "Dana", "consent": "on", "consent_version": CONSENT_VERSION,
            "time_zone": "Europe/Berlin",
            "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring", "utm_term": "",
            "utm_content": "", "referrer": "https://search.example/", "landing_path": "/?utm_source=newsletter",
            "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def client_ip_addr() -> str:
    return unique_ip()


@pytest.fixture
def client(client_ip_addr: str) -> Client:
    return Client(REMOTE_ADDR=client_ip_addr, HTTP_USER_AGENT="Mozilla/5.0 (signup test)")


@pytest.fixture(autouse=True)
def _signup_defaults(settings: Any) -> None:
    settings.FUNNEL_DOUBLE_OPT_IN = True
    settings.TRUSTED_PROXY_IP_HEADER = ""
    settings.SIGNUP_RATE_LIMIT = "10/h"
    # No broker round-trip from the tests that only look at rows (H4's kick setting, if present).
    settings.DRIP_KICK_ON_QUEUE = False


def make_lead(email: str, status: str = Lead.Status.SUBSCRIBED, **fields: Any) -> Lead:
    return Lead.objects.create(email=email, first_name="Existing", status=status, **fields)


__all__ = ["CONSENT_VERSION", "form_data", "make_lead", "unique_ip"]

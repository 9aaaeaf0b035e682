"""Signups from other sites: an allowed embedding site, a refused one, and clients on their own addresses."""

import json
from typing import Any

import pytest
from django.test import Client

from tests.signup.conftest import unique_ip

ALLOWED = "https://blog.example.org"
REFUSED = "https://elsewhere.example.net"


@pytest.fixture(autouse=True)
def _api_defaults(settings: Any) -> None:
    settings.SIGNUP_ALLOWED_ORIGINS = [ALLOWED]
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]  # django-cors-headers reads its own setting on each request
    settings.FUNNEL_DOUBLE_OPT_IN = True
    settings.TRUSTED_PROXY_IP_HEADER = ""
    settings.SIGNUP_RATE_LIMIT = "10/h"
    settings.DRIP_KICK_ON_QUEUE = False


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR=unique_ip(), HTTP_USER_AGENT="Mozilla/5.0 (api test)")


def post_json(client: Client, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/v1/signups", raw, content_type="application/json", headers=headers)


def signup_body(**overrides: Any) -> dict[str, Any]:
    return {"email": "reader@example.com", "first_name": "Dana", "time_zone": "Europe/Berlin", "consent": True,
            **overrides}

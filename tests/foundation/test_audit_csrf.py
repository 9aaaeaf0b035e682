"""CSRF protects every URL that takes a POST, except those that cannot carry a token by design:
the Stripe webhook and the ESP tracking webhook (signed / basic auth), the RFC 8058 one-click unsubscribe
(mail providers POST without cookies), and signups from other sites, the API and the embedded form (no session;
held by SIGNUP_ALLOWED_ORIGINS, rate limits, consent and double opt-in: funnel/embed/views.py). The URL list
comes from the URL configuration, so a new view that forgets protection (or a stray @csrf_exempt) fails here.
"""

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

EXEMPT = {"stripe-webhook", "unsubscribe-one-click", "signups", "embed-signup"}


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield pattern.name or route, route


def _concrete(route: str) -> str:
    # Route converters get a harmless value; the CSRF middleware decides before the view looks at it.
    path = re.sub(r"<int:\w+>", "1", route)
    path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
    return "/" + path.lstrip("^").rstrip("$")


def _site_routes() -> list[tuple[str, str]]:
    # The admin is Django's own (CSRF-protected) code; anymail's webhooks are csrf_exempt by anymail and guarded
    # by its basic-auth secret instead (tests/drip/test_tracking_and_clicks.py::test_tracking_webhook_requires_...).
    return [(name, _concrete(route)) for name, route in _routes(get_resolver().url_patterns)
            if not route.startswith(("admin/", "anymail/")) or route.startswith("admin/dashboard/")]


def test_the_exempt_views_still_exist() -> None:
    names = {name for name, _ in _site_routes()}
    assert names >= EXEMPT


@pytest.mark.parametrize(("name", "path"), _site_routes(), ids=[name for name, _ in _site_routes()])
def test_post_without_a_csrf_token_is_forbidden(name: str, path: str) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(path, {"email": "reader@example.com", "action": "unsubscribe", "confirm": "yes"})
    if name in EXEMPT:
        # Not the CSRF failure page (the embedded form answers 403 itself, to a post from no allowed site).
        assert response.status_code != 403 or b"This form has expired" not in response.content, path
    else:
        assert response.status_code == 403, (name, path, response.status_code)


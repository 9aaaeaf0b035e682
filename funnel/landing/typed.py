"""What the thank-you page repeats back: the address just typed (so a typo shows) and who our mail comes from.

The typed values travel from the signup POST to the thank-you page in a short-lived signed cookie scoped to that
page: never in the URL (where a link could make the page say anything, and logs and referrers would keep the
address), and without a session row per signup.
"""

from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

COOKIE = "signup_typed"
_SALT = "funnel.landing.typed"
MAX_AGE_SECONDS = 3600
# The fields the correction form is filled in with; consent is not among them: it is asked for again.
FIELDS = ("email", "first_name", "time_zone", "utm_source", "utm_medium", "utm_campaign", "utm_term",
          "utm_content", "referrer", "landing_path")
_MAX_LENGTH = {"email": 254, "referrer": 500, "landing_path": 500}


def remember(response: HttpResponse, values: Mapping[str, Any]) -> HttpResponse:
    """Attach the typed values to the redirect to the thank-you page."""
    kept = {name: str(values.get(name) or "")[: _MAX_LENGTH.get(name, 100)] for name in FIELDS}
    response.set_cookie(COOKIE, signing.dumps(kept, salt=_SALT, compress=True), max_age=MAX_AGE_SECONDS,
                        path=reverse("signup-thanks"), secure=settings.SESSION_COOKIE_SECURE, httponly=True,
                        samesite="Lax")
    return response


def recall(request: HttpRequest) -> dict[str, str] | None:
    """The values this browser typed in the last hour, or None (no cookie, expired, or not signed by us)."""
    raw = request.COOKIES.get(COOKIE)
    if not raw:
        return None
    try:
        values = signing.loads(raw, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(values, dict) or not values.get("email"):
        return None
    return {name: str(values.get(name) or "") for name in FIELDS}


def senders() -> list[tuple[str, str]]:
    """(address, what it sends) for each address a new reader hears from, in the order the mail arrives.

    The confirmation link is transactional mail, the welcome and the daily emails are marketing mail, and each
    kind has its own From (emails.message.build_message): a reader should add the ones that really send.
    """
    confirm = parseaddr(settings.TRANSACTIONAL_FROM_EMAIL)[1]
    daily = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if confirm == daily:
        return [(daily, "the confirmation link and your daily emails")]
    return [(confirm, "the confirmation link"), (daily, "the welcome and your daily emails")]

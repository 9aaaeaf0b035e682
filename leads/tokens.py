"""Signed tokens for links in emails and pages, in the manner of Django's `contrib/auth/tokens.py`.

Two kinds:
- `sign`/`unsign`: a signed, timestamped payload for one *purpose* (the purpose is the salt, so a token made
  for unsubscribing is rejected by the upgrade view). Used for links that may be used many times.
- `make_state_token`/`check_state_token`: an HMAC over the lead's state that changes once the token is used
  (e.g. `last_sign_in_at` for magic links), plus a timestamp: single use without storing the token.

Inside `inert()` both make a marker instead, which no view accepts: staff previews and test sends render every
link of an email without handing whoever sees them a working one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

_SALT_PREFIX = "painreset.tokens."

# Not a signed value (no ':' separator) nor a state token (no '-' separators): every check refuses it as malformed.
INERT_TOKEN = "PREVIEW_LINK_DISABLED"
_inert: ContextVar[bool] = ContextVar("painreset_inert_tokens", default=False)


class BadToken(Exception):
    """Tampered, expired, or made for another purpose."""


def _now() -> datetime:
    """The clock, a seam for tests (as in Django's PasswordResetTokenGenerator)."""
    from django.utils import timezone

    return timezone.now()


@contextmanager
def inert() -> Iterator[None]:
    """Every token made inside this block is INERT_TOKEN. A context variable, so other threads are unaffected."""
    reset = _inert.set(True)
    try:
        yield
    finally:
        _inert.reset(reset)


def sign(purpose: str, payload: dict[str, Any]) -> str:
    if _inert.get():
        return INERT_TOKEN
    return signing.dumps(payload, salt=_SALT_PREFIX + purpose, compress=True)


def unsign(purpose: str, token: str, *, max_age_seconds: int | None = None) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > 1000:
        raise BadToken("malformed")
    try:
        value = signing.loads(token, salt=_SALT_PREFIX + purpose, max_age=max_age_seconds)
    except signing.SignatureExpired as exc:
        raise BadToken("expired") from exc
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise BadToken("invalid") from exc
    if not isinstance(value, dict):
        raise BadToken("invalid")
    return value


def _timestamp() -> int:
    return int(_now().timestamp())


def _state_hash(purpose: str, lead_id: int, state: str, ts: int) -> str:
    return salted_hmac(_SALT_PREFIX + purpose, f"{lead_id}:{state}:{ts}",
                       secret=settings.SECRET_KEY, algorithm="sha256").hexdigest()[:40]


def make_state_token(purpose: str, *, lead_id: int, state: str) -> str:
    """`state` must change when the token is used (and when it should stop working)."""
    if _inert.get():
        return INERT_TOKEN
    ts = _timestamp()
    return f"{int_to_base36(lead_id)}-{int_to_base36(ts)}-{_state_hash(purpose, lead_id, state, ts)}"


def read_state_token_lead_id(token: str) -> int:
    """The lead id a state token names, before checking it against that lead's state."""
    try:
        lead_b36, _, _ = token.split("-", 2)
        if len(lead_b36) > 13:
            raise ValueError
        return base36_to_int(lead_b36)
    except ValueError as exc:
        raise BadToken("malformed") from exc


def check_state_token(purpose: str, token: str, *, lead_id: int, state: str, max_age_seconds: int) -> None:
    """Raise BadToken unless the token was made for this purpose, lead and state, within max_age."""
    try:
        lead_b36, ts_b36, digest = token.split("-", 2)
        if len(ts_b36) > 13 or len(lead_b36) > 13:
            raise ValueError
        token_lead, ts = base36_to_int(lead_b36), base36_to_int(ts_b36)
    except ValueError as exc:
        raise BadToken("malformed") from exc
    if token_lead != lead_id or not constant_time_compare(digest, _state_hash(purpose, lead_id, state, ts)):
        raise BadToken("invalid")
    age = _timestamp() - ts
    if age > max_age_seconds or age < -60:
        raise BadToken("expired")

"""The signature on every delivery, in Stripe's shape: `Funnel-Signature: t=<unix seconds>,v1=<hex>` where the hex
is HMAC-SHA256(secret, f"{t}.{body}"). The timestamp is signed with the body, so a receiver that refuses old
timestamps (README: five minutes) cannot be fed a captured delivery later."""

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Funnel-Signature"


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature_header(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"

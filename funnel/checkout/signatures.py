"""Stripe's webhook signature scheme: `Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`.

Verification is the `stripe` library's; we add the one check it lacks (a timestamp far in the future). Signing
is for the development simulator and `stripe_replay`, which must produce exactly what Stripe sends.
"""

import hashlib
import hmac
import time

import stripe

TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    pass


def signature_header(payload: bytes, *, secret: str, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def signature_verify(payload: bytes, *, header: str, secret: str) -> None:
    """Raise BadSignature unless `header` signs `payload` with `secret` within 300 s either side of now."""
    try:
        text = payload.decode("utf-8")
        # Rejects a wrong secret, a changed byte, and a timestamp older than the tolerance.
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance=TOLERANCE_SECONDS)
        timestamp = int(next(part[2:] for part in header.split(",") if part.startswith("t=")))
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, StopIteration) as exc:
        raise BadSignature(str(exc)) from exc
    # The library only bounds the age; a timestamp from the future would let a captured signature live longer.
    if timestamp > time.time() + TOLERANCE_SECONDS:
        raise BadSignature("timestamp too far in the future")

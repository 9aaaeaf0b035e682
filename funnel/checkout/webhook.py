"""`/webhooks/stripe/`: verify, store once, answer; a worker acts on the event (django-anymail's webhook pattern).

Answers: 413 for a body larger than any Stripe event; 400 for anything not signed by Stripe with our secret, and
for a signed body that is not an event we could store (nothing stored either way); 200 once the event is stored,
or was already. Fulfilment runs in a
Celery task queued after the insert commits, never in this request: Stripe gets its answer in milliseconds
whatever Stripe's API, our workers or the broker are doing, and a broker outage only delays the task (the beat
sweep processes stored events no task took up).
"""

import json
import math
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from emails.broker import task_publish_on_commit
from funnel.checkout.events import stripe_event_record
from funnel.checkout.signatures import BadSignature, signature_verify
from funnel.tasks import process_stripe_event

MAX_PAYLOAD_BYTES = 512 * 1024  # Stripe events are a few kilobytes
MAX_DEPTH = 32  # Stripe objects nest a handful of levels; far deeper is an attack on a recursive encoder
INT64 = 2**63  # every integer in Stripe's API is a 64-bit one
CREATED_MAX = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds
_CONTAINERS = (dict, list)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and ±Infinity, which PostgreSQL's jsonb refuses


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _int64(text: str) -> int:
    if len(text) > 20:  # before int(): a 4,000-digit number costs real time to convert
        raise ValueError(f"integer out of range: {text[:20]}…")
    value = int(text)
    if not -INT64 <= value < INT64:
        raise ValueError(f"integer out of range: {text}")
    return value


# The body is decoded as strict UTF-8, which refuses encoded surrogates, and JSON refuses raw control characters
# in strings: NUL and unpaired surrogates, which PostgreSQL's jsonb refuses, can only come as \u escapes.
# Bodies without such an escape (nearly all) skip the walk over every string.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def _unstorable_string(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")  # fails on an unpaired surrogate; a pair was joined into one character by json
    except UnicodeEncodeError:
        return True
    return False


def _has_unstorable_string(node: Any) -> bool:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        if isinstance(key, str) and _unstorable_string(key) or isinstance(child, str) and _unstorable_string(child):
            return True
        if isinstance(child, dict | list) and _has_unstorable_string(child):
            return True
    return False


def _deeper_than(node: Any, levels: int) -> bool:  # node: a dict or a list
    if levels == 0:
        return True
    # type() rather than isinstance: json.loads makes plain dicts and lists, and this runs on every delivery.
    for child in node.values() if type(node) is dict else node:
        if type(child) in _CONTAINERS and _deeper_than(child, levels - 1):
            return True
    return False


def event_parse(text: str) -> dict[str, Any]:
    """The event in a signed body, or ValueError when it is not one we can store and act on."""
    try:
        payload = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_int64)
    except RecursionError as exc:  # the C decoder recurses once per nesting level
        raise ValueError("nested too deeply") from exc
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    event_id, event_type, data = payload.get("id"), payload.get("type"), payload.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise ValueError("no event id")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("no event type")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise ValueError("no data.object")
    created = payload.get("created")
    if created is not None and (not isinstance(created, int) or isinstance(created, bool)
                                or not 0 <= created <= CREATED_MAX):
        raise ValueError("created is not a Unix time")
    if _deeper_than(payload, MAX_DEPTH):
        raise ValueError("nested too deeply")
    if _SUSPECT_ESCAPE.search(text) and _has_unstorable_string(payload):
        raise ValueError("a string PostgreSQL cannot store (NUL or an unpaired surrogate)")
    return payload


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    # Before the body is read: Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) would answer a larger one 400.
    if _declared_length(request) > MAX_PAYLOAD_BYTES or len(request.body) > MAX_PAYLOAD_BYTES:
        return HttpResponse("payload too large", status=413)
    header = request.headers.get("Stripe-Signature", "")
    if not header:
        return HttpResponseBadRequest("missing signature")
    try:
        signature_verify(request.body, header=header, secret=settings.STRIPE_WEBHOOK_SECRET)
    except BadSignature:
        return HttpResponseBadRequest("bad signature")
    # Signed yet malformed: a 400 says "never send this again" better than a 500 that Stripe retries for days.
    try:
        text = request.body.decode("utf-8")  # UTF-8 only (json.loads would guess UTF-16 or -32 from bytes)
        payload = event_parse(text)
    except ValueError as exc:  # UnicodeDecodeError is one
        return HttpResponseBadRequest(f"not a Stripe event: {exc}")
    if stripe_event_record(payload=payload, body=text):
        task_publish_on_commit(process_stripe_event, payload["id"])
    return HttpResponse("ok")

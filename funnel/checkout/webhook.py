"""`/webhooks/stripe/`: validate before parsing, store once, then act (django-anymail's webhook pattern).

Answers: 400 for anything not signed by Stripe with our secret (nothing stored), 200 once the event is handled
or was already handled, 500 when handling failed (the raw event and traceback are kept; Stripe retries).
"""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from funnel.checkout.services import stripe_event_process, stripe_event_record
from funnel.checkout.signatures import BadSignature, signature_verify
from funnel.models import StripeEvent

MAX_PAYLOAD_BYTES = 512 * 1024  # Stripe events are a few kilobytes


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    header = request.headers.get("Stripe-Signature", "")
    if not header or len(request.body) > MAX_PAYLOAD_BYTES:
        return HttpResponseBadRequest("missing signature")
    try:
        signature_verify(request.body, header=header, secret=settings.STRIPE_WEBHOOK_SECRET)
        payload = json.loads(request.body)
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) \
                or not isinstance((payload.get("data") or {}).get("object"), dict):
            raise ValueError("not an event")
    except (BadSignature, ValueError):
        return HttpResponseBadRequest("bad signature or payload")

    stripe_event_record(payload=payload)
    # A duplicate delivery is processed again only if the earlier attempt failed or never finished.
    status = stripe_event_process(event_id=payload["id"])
    if status == StripeEvent.Status.FAILED:
        return HttpResponse("processing failed; kept for retry", status=500)
    return HttpResponse("ok")

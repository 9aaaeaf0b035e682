"""The tracking webhook of the ESP we send through, and no other.

Mounting all of `anymail.urls` exposes every ESP's webhooks: those we do not use answer an anonymous POST with a
500 (their own signing keys are not configured), which looks like an outage and invites probing. This view
resolves, per request, anymail's tracking view for the ESP named by EMAIL_BACKEND (e.g.
`anymail.backends.postmark.EmailBackend` → `PostmarkTrackingWebhookView` at `anymail/postmark/tracking/`, the path
anymail documents) and answers 404 for any other ESP, for inbound webhooks and for non-anymail backends.
Per request rather than at import, so a changed EMAIL_BACKEND (a test's `settings` fixture) is honoured.
"""

from collections.abc import Callable
from functools import lru_cache

from anymail import urls as anymail_urls
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

ANYMAIL_BACKENDS = "anymail.backends."


@lru_cache(maxsize=8)
def tracking_view_for(backend: str) -> tuple[str, Callable[..., HttpResponse]] | None:
    """(esp, anymail's tracking view) for an EMAIL_BACKEND path, or None when that backend has no webhook."""
    if not backend.startswith(ANYMAIL_BACKENDS):
        return None
    esp = backend.removeprefix(ANYMAIL_BACKENDS).split(".", 1)[0]
    for pattern in anymail_urls.urlpatterns:
        if getattr(pattern, "name", None) == f"{esp}_tracking_webhook":
            return esp, pattern.callback
    return None


# anymail's views are csrf_exempt themselves (ESPs cannot send a token); they check ANYMAIL["WEBHOOK_SECRET"].
@csrf_exempt
def esp_tracking(request: HttpRequest, esp: str) -> HttpResponse:
    configured = tracking_view_for(settings.EMAIL_BACKEND)
    if configured is None or configured[0] != esp:
        raise Http404("No tracking webhook for this ESP.")
    return configured[1](request)

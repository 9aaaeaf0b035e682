"""Only the configured ESP's tracking webhook is mounted: every other anymail URL is a plain 404.

All of `anymail.urls` used to be mounted, and the webhooks of ESPs we do not use answered an anonymous POST with
a 500 (their signing keys are not configured), which pages whoever watches the error rate.
"""

import base64
import json
from typing import Any

import pytest
from anymail import urls as anymail_urls
from django.test import Client

from emails.models import EmailEvent

pytestmark = pytest.mark.django_db

POSTMARK = "anymail.backends.postmark.EmailBackend"
ANYMAIL_ROUTES = sorted(str(pattern.pattern).lstrip("^").rstrip("$").replace("(_mime)?", "")
                        for pattern in anymail_urls.urlpatterns)


def anonymous_post(path: str) -> int:
    # raise_request_exception=False: the status a real client gets, 500 included, instead of a re-raised error.
    client = Client(raise_request_exception=False)
    return client.post(path, json.dumps({"RecordType": "Delivery"}), content_type="application/json").status_code


@pytest.mark.parametrize("route", [r for r in ANYMAIL_ROUTES if r != "postmark/tracking/"])
def test_every_other_anymail_url_is_404(route: str, settings: Any) -> None:
    settings.EMAIL_BACKEND = POSTMARK
    assert anonymous_post(f"/anymail/{route}") == 404


def test_the_configured_esps_tracking_webhook_needs_its_basic_auth(settings: Any) -> None:
    settings.EMAIL_BACKEND = POSTMARK
    path = "/anymail/postmark/tracking/"
    assert anonymous_post(path) in (400, 401, 403)
    auth = "Basic " + base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    event = {"RecordType": "Delivery", "MessageID": "pm-404-check", "Recipient": "x@example.com",
             "DeliveredAt": "2026-03-05T14:00:01Z", "Details": "ok", "Metadata": {}}
    response = Client().post(path, json.dumps(event), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert EmailEvent.objects.filter(event_type="delivered").exists()


@pytest.mark.parametrize("backend", ["emails.backends.OutboxBackend", "django.core.mail.backends.smtp.EmailBackend",
                                     "anymail.backends.test.EmailBackend"])
def test_a_backend_without_tracking_mounts_no_webhook(backend: str, settings: Any) -> None:
    settings.EMAIL_BACKEND = backend
    assert anonymous_post("/anymail/postmark/tracking/") == 404


def test_another_esp_gets_its_own_webhook_and_postmark_is_gone(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    assert anonymous_post("/anymail/postmark/tracking/") == 404
    assert anonymous_post("/anymail/mailgun/tracking/") != 404

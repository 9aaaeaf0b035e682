"""After staff lift a hard-bounce suppression, reactivate the address at the ESP too.

Postmark keeps its own list: after a hard bounce it marks the recipient inactive and refuses every later message to
it (the send API answers 406), whatever our lead says. Lifting our suppression alone would only trade our "skipped"
for Postmark's refusal. So the lift also calls Postmark's bounce activation API (`PUT /bounces/{bounceid}/activate`,
answered `{"Message": "OK", "Bounce": {...}}`), with the bounce id Postmark gave in its bounce webhook, which
anymail passes on as the event id and we store as EmailEvent.event_id.

Best effort, after the lift has committed (a slow or failing ESP never undoes or holds up a staff decision), with a
short timeout; the outcome is appended to the lift's entry in the lead's timeline (leads.SuppressionChange), so
staff see whether they still have to reactivate the address in Postmark's dashboard by hand.
Other ESPs: nothing is called; the timeline says so.
"""

import logging
from typing import Any

import requests
from anymail.utils import get_anymail_setting
from django.conf import settings

from emails.models import EmailEvent
from leads.models import Lead, SuppressionChange

logger = logging.getLogger(__name__)

POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"
POSTMARK_API = "https://api.postmarkapp.com/"
# Seconds: an admin waits on this after pressing "lift". Postmark answers in well under a second.
TIMEOUT_SECONDS = 5.0


class PostmarkBounces:
    """The one Postmark Bounce API call we need, with the server token and API URL anymail is configured with."""

    def __init__(self) -> None:
        self.token = get_anymail_setting("server_token", esp_name="Postmark", allow_bare=True)
        url = get_anymail_setting("api_url", esp_name="Postmark", default=POSTMARK_API)
        self.url = url if url.endswith("/") else url + "/"

    def activate(self, bounce_id: str) -> dict[str, Any]:
        """Reactivate the address of bounce `bounce_id`; Postmark's answer (raises for an error status)."""
        response = requests.put(f"{self.url}bounces/{bounce_id}/activate", timeout=TIMEOUT_SECONDS, headers={
            "Accept": "application/json", "X-Postmark-Server-Token": self.token})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def _latest_postmark_bounce_id(lead_id: int) -> str | None:
    """The id of the lead's latest hard bounce, when Postmark reported it (its event ids are its bounce ids)."""
    ids = EmailEvent.objects.filter(lead_id=lead_id, bounce=EmailEvent.Bounce.HARD).order_by(
        "-occurred_at", "-pk").values_list("event_id", flat=True)
    return next((event_id for event_id in ids if event_id.isdigit()), None)


def _outcome(lead_id: int) -> str:
    if settings.EMAIL_BACKEND != POSTMARK_BACKEND:
        return "ESP not called (only Postmark is supported): reactivate the address at the ESP if it refuses it"
    bounce_id = _latest_postmark_bounce_id(lead_id)
    if bounce_id is None:
        return "Postmark not called: no Postmark bounce id stored; reactivate the address in Postmark if needed"
    try:
        answer = PostmarkBounces().activate(bounce_id)
    except (requests.RequestException, ValueError) as exc:
        logger.warning("postmark bounce activation failed lead=%s bounce=%s: %s", lead_id, bounce_id, exc)
        detail = ""
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            detail = f" ({exc.response.status_code}: {exc.response.text[:120]})"
        return f"Postmark reactivation of bounce {bounce_id} failed{detail}: reactivate it in Postmark's dashboard"
    bounce = answer.get("Bounce") or {}
    if bounce.get("Inactive") is False:
        return f"Postmark reactivated the address (bounce {bounce_id})"
    return f"Postmark answered {answer.get('Message', '')!r} but the address is still inactive (bounce {bounce_id})"


def hard_bounce_reactivate(*, lead_id: int) -> str:
    """Run after a hard-bounce suppression of this lead was lifted by staff: reactivate the address at the ESP and
    record the outcome on that lift. Returns the outcome."""
    outcome = _outcome(lead_id)
    lift = SuppressionChange.objects.filter(lead_id=lead_id, action=SuppressionChange.Action.LIFTED,
                                            suppression=Lead.Suppression.HARD_BOUNCE).order_by("-created_at",
                                                                                               "-pk").first()
    if lift is not None:
        suffix = f" · ESP: {outcome}"
        # The staff's reason comes first and is kept whole where it fits; the field holds 500 characters.
        lift.reason = lift.reason[:max(0, 500 - len(suffix))] + suffix[:500]
        lift.save(update_fields=["reason"])
    logger.info("hard bounce lifted lead=%s: %s", lead_id, outcome)
    return outcome

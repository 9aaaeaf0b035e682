"""Mail to the people who run the service (not readers): a held purchase, the sending brake, a dead webhook.

Best effort everywhere: what the alert is about is already recorded and shown in the admin, so a missing address or
a failed send is logged, never raised. It goes on the transactional stream: the marketing one may be the stream in
trouble (the brake)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from emails.message import stream_esp_extra
from emails.models import ScheduledEmail

logger = logging.getLogger(__name__)


def staff_alert_recipients() -> list[str]:
    """STAFF_ALERT_EMAIL, or the ADMINS' addresses when it is empty."""
    return list(settings.STAFF_ALERT_EMAIL) or [address for _name, address in settings.ADMINS]


def staff_alert_send(*, subject: str, body: str, about: str) -> bool:
    """Email the staff. False (logged with `about`) when nobody is set to get it or the send failed."""
    recipients = staff_alert_recipients()
    if not recipients:
        logger.error("%s, and no STAFF_ALERT_EMAIL or ADMINS to tell", about)
        return False
    try:
        message = EmailMessage(subject=subject, body=body, from_email=settings.SERVER_EMAIL, to=recipients)
        message.esp_extra = stream_esp_extra(ScheduledEmail.Stream.TRANSACTIONAL)  # type: ignore[attr-defined]
        message.send()
    except Exception:
        logger.exception("could not email staff: %s", about)
        return False
    return True

"""Mail to the people who run the service (not readers): a held purchase, the sending brake."""

from django.conf import settings


def staff_alert_recipients() -> list[str]:
    """STAFF_ALERT_EMAIL, or the ADMINS' addresses when it is empty."""
    return list(settings.STAFF_ALERT_EMAIL) or [address for _name, address in settings.ADMINS]

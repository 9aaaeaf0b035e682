"""A deployment check: the links we mail must be https.

Gmail and Yahoo only honour a one-click `List-Unsubscribe` with an https URL, and every link in a message carries
a signed token; `SITE_URL` is where all of them come from, so `check --deploy` refuses a plain-http one.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_is_https(**_: Any) -> list[Warning]:
    if settings.DEBUG or settings.SITE_URL.startswith("https://"):
        return []
    return [Warning("SITE_URL is not https: emails would carry plain-http List-Unsubscribe and token links.",
                    hint="Set SITE_URL to the public https:// address of the site.", id="emails.W001")]

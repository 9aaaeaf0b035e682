"""Registers this area's email context providers with `emails.context` (imported from FunnelConfig.ready).

The confirmation link is made when the mail is rendered (send time), so no token is ever stored in a row.
"""

from typing import Any

from django.conf import settings
from django.urls import reverse

from emails.context import register_context_provider
from emails.models import ScheduledEmail
from leads.confirmation import confirm_token_make
from leads.models import Lead


def confirm_link(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    return {"confirm_url": settings.SITE_URL + reverse("confirm", args=[confirm_token_make(lead)])}


register_context_provider(confirm_link, steps=["confirm", "confirm-reminder"])

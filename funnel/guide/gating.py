"""Who may see the paid pages, and where a non-buyer goes to become one."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from leads import tokens
from leads.access import access_current_buyer, access_signed_in_lead
from leads.models import Lead


@dataclass(frozen=True)
class Viewer:
    buyer: Lead | None  # set only for a signed-in customer
    upgrade_url: str  # where the upgrade button goes for everyone else
    signed_in: bool  # a signed-in lead who is not (or no longer) a buyer: no "sign in" link for them


def viewer_for(request: HttpRequest) -> Viewer:
    buyer = access_current_buyer(request)
    if buyer is not None:
        return Viewer(buyer=buyer, upgrade_url="", signed_in=True)
    lead = access_signed_in_lead(request)
    if lead is not None:
        # A known lead (free or refunded) goes through the upgrade link, which credits the purchase to them.
        token = tokens.sign("upgrade", {"lead": lead.pk, "email": None})
        return Viewer(buyer=None, upgrade_url=reverse("upgrade", args=[token]), signed_in=True)
    return Viewer(buyer=None, upgrade_url=reverse("buy"), signed_in=False)


def signin_url() -> str:
    return reverse("signin")

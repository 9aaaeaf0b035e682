"""Registers this area's email context providers with `emails.context` (imported from FunnelConfig.ready).

Links with tokens are made here at send time, never stored in the outbox row: the magic link for the access
and sign-in emails, a fresh upgrade link for the payment-failed and order-waiting emails.
"""

from typing import Any

from django.conf import settings
from django.urls import reverse

from emails.context import register_context_provider
from emails.models import ScheduledEmail
from funnel.checkout.signin import SIGNIN_TOKEN_MAX_AGE_SECONDS, signin_url
from funnel.checkout.start import upgrade_url
from funnel.models import Purchase
from leads.models import Lead


def _money(cents: int, currency: str) -> str:
    return f"${cents / 100:.2f}" if currency == "usd" else f"{cents / 100:.2f} {currency.upper()}"


def _absolute(name: str) -> str:
    return settings.SITE_URL + reverse(name)


def signin_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    return {
        "magic_link_url": signin_url(lead),
        "magic_link_hours": SIGNIN_TOKEN_MAX_AGE_SECONDS // 3600,
        "signin_request_url": _absolute("signin"),
    }


def access_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    purchase_id = (row.context or {}).get("purchase_id")
    purchase = Purchase.objects.filter(pk=purchase_id, lead=lead).first() if isinstance(purchase_id, int) else None
    receipt = None
    if purchase is not None:
        receipt = {
            "product": settings.PRODUCT_NAME,
            "amount": _money(purchase.amount_cents, purchase.currency),
            "date": purchase.created_at,
            "reference": f"PR-{purchase.pk:06d}",
        }
    return {**signin_context(lead, row), "receipt": receipt, "full_guide_url": _absolute("full-guide")}


def purchase_note_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    """A second payment refunded, or a payment held for a check: what was paid, and how to sign in."""
    purchase_id = (row.context or {}).get("purchase_id")
    purchase = Purchase.objects.filter(pk=purchase_id, lead=lead).first() if isinstance(purchase_id, int) else None
    return {**signin_context(lead, row),
            "amount": _money(purchase.amount_cents, purchase.currency) if purchase else "",
            "reference": f"PR-{purchase.pk:06d}" if purchase else ""}


def retry_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    credited = (row.context or {}).get("credited_email_id")
    return {"retry_url": upgrade_url(lead_id=lead.pk, email_row_id=credited if isinstance(credited, int) else None),
            "price": _money(settings.PRODUCT_PRICE_CENTS, settings.PRODUCT_CURRENCY)}


register_context_provider(signin_context, steps=["signin", "already-yours"])
register_context_provider(purchase_note_context, steps=["duplicate-refunded", "order-review"])
register_context_provider(access_context, steps=["access"])
register_context_provider(retry_context, steps=["payment-failed", "order-waiting"])

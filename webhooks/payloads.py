"""The `data` of each event type: what a CRM or an automation needs to act on it, in plain JSON."""

from typing import Any

from emails.models import EmailEvent
from funnel.models import Purchase
from leads.models import Lead


def _at(value: Any) -> str | None:
    return value.isoformat() if value else None


def lead_data(lead: Lead) -> dict[str, Any]:
    return {"id": lead.pk, "email": lead.email, "first_name": lead.first_name, "status": lead.status,
            "time_zone": lead.time_zone, "confirmed_at": _at(lead.confirmed_at),
            "unsubscribed_at": _at(lead.unsubscribed_at), "is_customer": lead.is_customer,
            "tags": sorted(lead.tags.values_list("name", flat=True)), "utm_source": lead.utm_source}


def purchase_data(purchase: Purchase) -> dict[str, Any]:
    # Amounts in the currency's smallest unit, as Stripe gives them (997 = $9.97).
    return {"purchase": {"id": purchase.pk, "amount": purchase.amount_cents, "currency": purchase.currency,
                         "status": purchase.status, "created_at": _at(purchase.created_at),
                         "refunded_at": _at(purchase.refunded_at), "livemode": purchase.livemode},
            "lead": lead_data(purchase.lead)}


def email_event_data(lead: Lead, event: EmailEvent) -> dict[str, Any]:
    return {"email": {"event": event.event_type, "bounce": event.bounce or None,
                      "occurred_at": _at(event.occurred_at), "esp_message_id": event.esp_message_id,
                      "description": event.description, "step": getattr(event.scheduled_email, "step", None)},
            "lead": lead_data(lead)}

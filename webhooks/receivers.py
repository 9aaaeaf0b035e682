"""The lower layers' signals, turned into delivery rows in the sender's transaction."""

from typing import Any

from django.dispatch import receiver

from emails.models import EmailEvent
from emails.signals import email_bounced, email_complained
from funnel.models import Purchase
from funnel.signals import purchase_paid, purchase_refunded
from leads.models import Lead
from leads.signals import lead_confirmed, lead_tagged, lead_unsubscribed
from webhooks.payloads import email_event_data, lead_data, purchase_data
from webhooks.services import deliveries_record


@receiver(lead_confirmed, dispatch_uid="webhooks.lead_confirmed")
def on_lead_confirmed(sender: Any, lead: Lead, **_: Any) -> None:
    deliveries_record(event_type="lead.confirmed", data={"lead": lead_data(lead)}, lead=lead)


@receiver(lead_unsubscribed, dispatch_uid="webhooks.lead_unsubscribed")
def on_lead_unsubscribed(sender: Any, lead: Lead, **_: Any) -> None:
    deliveries_record(event_type="lead.unsubscribed", data={"lead": lead_data(lead)}, lead=lead)


@receiver(lead_tagged, dispatch_uid="webhooks.lead_tagged")
def on_lead_tagged(sender: Any, lead: Lead, tag: str, **_: Any) -> None:
    deliveries_record(event_type="lead.tagged", data={"tag": tag, "lead": lead_data(lead)}, lead=lead)


@receiver(purchase_paid, dispatch_uid="webhooks.purchase_paid")
def on_purchase_paid(sender: Any, purchase: Purchase, **_: Any) -> None:
    deliveries_record(event_type="purchase.paid", data=purchase_data(purchase), lead=purchase.lead)


@receiver(purchase_refunded, dispatch_uid="webhooks.purchase_refunded")
def on_purchase_refunded(sender: Any, purchase: Purchase, **_: Any) -> None:
    deliveries_record(event_type="purchase.refunded", data=purchase_data(purchase), lead=purchase.lead)


@receiver(email_bounced, dispatch_uid="webhooks.email_bounced")
def on_email_bounced(sender: Any, lead: Lead, event: EmailEvent, **_: Any) -> None:
    deliveries_record(event_type="email.bounced", data=email_event_data(lead, event), lead=lead)


@receiver(email_complained, dispatch_uid="webhooks.email_complained")
def on_email_complained(sender: Any, lead: Lead, event: EmailEvent, **_: Any) -> None:
    deliveries_record(event_type="email.complained", data=email_event_data(lead, event), lead=lead)

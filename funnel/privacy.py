"""The money and app part of a person's data download and erasure, registered with `leads.privacy` from
FunnelConfig.ready().

Erasure keeps purchases (amount, currency, dates, status: the books need them, and the lead they point to is
anonymous by then) and checkout sessions (funnel counts), but removes what names the person from the Stripe event
payloads we stored (Stripe puts the buyer's email, name and address in them). App sessions are health data and are
deleted.

The dashboard's daily rollups are keyed by the leads' UTM values: when erasure had to scrub a lead's source,
medium or campaign (it quoted them, leads.privacy), the built days that counted the lead are rebuilt from the
scrubbed rows, so no rollup keeps the old value either.
"""

import json
from datetime import UTC
from typing import Any

from django.db.models import Q
from django.db.models.functions import TruncDate

from emails.models import ScheduledEmail
from funnel.dashboard.services import UTM, rollup_rebuild
from funnel.models import CheckoutSession, PracticeSession, Purchase, RollupDay, SignInLinkUse, StripeEvent
from leads.models import Lead
from leads.privacy import ERASED, ErasedPerson, export_rows, register_eraser, register_exporter

# Stripe objects (Checkout Session, Charge, PaymentIntent, Dispute) keep the buyer's details under these keys.
PERSONAL_OBJECTS = frozenset({"customer_details", "billing_details", "shipping", "shipping_details",
                              "collected_information", "customer_shipping", "customer_address"})
PERSONAL_VALUES = frozenset({"customer_email", "receipt_email", "customer_name", "customer_phone",
                             "individual_name"})


def _person(lead: Lead) -> ErasedPerson:
    return ErasedPerson(lead=lead, email=lead.email or "", first_name=lead.first_name)


def _checkout_sessions(person: ErasedPerson) -> list[CheckoutSession]:
    """Their sessions: started for the lead, or (on /buy/, before a lead existed) for their address."""
    found = Q(lead=person.lead)
    if person.email:
        found |= Q(simulated_object__icontains=person.email)
    return [s for s in CheckoutSession.objects.filter(found).order_by("created_at", "pk")
            if s.lead_id == person.lead.pk or person.mentions(json.dumps(s.simulated_object))]


def _stripe_events(person: ErasedPerson, sessions: list[CheckoutSession]) -> list[StripeEvent]:
    """Events about their sessions, payments or lead, and any other event that quotes their address."""
    purchases = Purchase.objects.filter(lead=person.lead)
    object_ids = {s.stripe_session_id for s in sessions} | set(purchases.values_list("stripe_session_id", flat=True))
    intents = {i for i in purchases.values_list("payment_intent_id", flat=True) if i}
    about_them = (Q(payload__data__object__id__in=sorted(object_ids | intents))
                  | Q(payload__data__object__metadata__lead=str(person.lead.pk)))
    if intents:
        about_them |= Q(payload__data__object__payment_intent__in=sorted(intents))
    found = about_them | Q(payload__icontains=person.email) if person.email else about_them
    events = StripeEvent.objects.filter(found).order_by("received_at", "pk")
    # The text search also finds "joann@…" for "ann@…"; keep those only if they are about this person.
    return [e for e in events if person.mentions(json.dumps(e.payload)) or _is_about(e, object_ids, intents,
                                                                                   person.lead.pk)]


def _is_about(event: StripeEvent, object_ids: set[str], intents: set[str], lead_id: int) -> bool:
    obj = (event.payload.get("data") or {}).get("object") or {}
    return (obj.get("id") in object_ids | intents or obj.get("payment_intent") in intents
            or str((obj.get("metadata") or {}).get("lead")) == str(lead_id))


def redact_stripe_object(value: Any, person: ErasedPerson) -> Any:
    """A copy of a Stripe payload without the buyer's details, and without their address anywhere else."""
    if isinstance(value, dict):
        return {key: None if key in PERSONAL_OBJECTS | PERSONAL_VALUES and item else redact_stripe_object(item, person)
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact_stripe_object(item, person) for item in value]
    return person.scrub_json(value)


# --- Export ---------------------------------------------------------------------------------------------------

def export_purchases(lead: Lead) -> list[dict[str, Any]]:
    purchases = Purchase.objects.filter(lead=lead).select_related("scheduled_email").order_by("created_at", "pk")
    return export_rows(purchases, ["stripe_session_id", "status", "amount_cents", "currency", "created_at",
                                   "refunded_at", "disputed_at", "scheduled_email.step"])


def export_checkout_sessions(lead: Lead) -> list[dict[str, Any]]:
    return export_rows(_checkout_sessions(_person(lead)), ["stripe_session_id", "status", "created_at"])


def export_stripe_events(lead: Lead) -> list[dict[str, Any]]:
    person = _person(lead)
    return export_rows(_stripe_events(person, _checkout_sessions(person)),
                       ["event_id", "event_type", "received_at", "payload"])


def export_practice_sessions(lead: Lead) -> list[dict[str, Any]]:
    sessions = PracticeSession.objects.filter(lead=lead).order_by("local_date", "pk")
    return export_rows(sessions, ["local_date", "areas", "steps_done", "items_done", "release_seconds",
                                  "heat_seconds", "stretch_seconds", "pain_before", "pain_after", "created_at"])


def export_sign_in(lead: Lead) -> list[dict[str, Any]]:
    return export_rows(SignInLinkUse.objects.filter(lead=lead), ["used_at"])


# --- Erasure --------------------------------------------------------------------------------------------------

def erase_money_and_app(person: ErasedPerson) -> None:
    PracticeSession.objects.filter(lead=person.lead).delete()  # health data: nothing to keep it for
    SignInLinkUse.objects.filter(lead=person.lead).delete()
    sessions = _checkout_sessions(person)
    for event in _stripe_events(person, sessions):
        event.payload = redact_stripe_object(event.payload, person)
        event.error = person.scrub_free_text(event.error)
        event.save(update_fields=["payload", "error"])
    for session in sessions:
        if session.simulated_object:
            session.simulated_object = redact_stripe_object(session.simulated_object, person)
            session.save(update_fields=["simulated_object"])


def erase_from_rollups(person: ErasedPerson) -> None:
    lead = person.lead
    if not any(getattr(lead, name) == ERASED for name in UTM):
        return  # nothing of theirs is in a rollup key: the common case costs no query
    sent = (ScheduledEmail.objects.filter(lead=lead, stream=ScheduledEmail.Stream.MARKETING, sent_at__isnull=False)
            .annotate(day=TruncDate("sent_at", tzinfo=UTC)).values_list("day", flat=True))
    days = {lead.created_at.astimezone(UTC).date(), *sent}
    # Only days already built: a day not built yet is counted live, from the scrubbed rows.
    built = set(RollupDay.objects.filter(day__in=days).values_list("day", flat=True))
    if built:
        rollup_rebuild(days=built)


register_exporter("purchases", export_purchases)
register_exporter("checkout_sessions", export_checkout_sessions)
register_exporter("stripe_events", export_stripe_events)
register_exporter("practice_sessions", export_practice_sessions)
register_exporter("sign_in", export_sign_in)
register_eraser(erase_money_and_app)
register_eraser(erase_from_rollups)

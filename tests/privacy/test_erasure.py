"""Erasure from the preference page removes the person from every table, and keeps only what the law and the books
allow: consent as a hash, purchase amounts and dates, anonymous funnel counts."""

import json
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.models import CheckoutSession, PracticeSession, Purchase, SignInLinkUse, StripeEvent
from leads.models import ConsentRecord, Lead
from leads.services import email_sha256, lead_erase
from tests.privacy.conftest import Person, mailed_privacy_link

# PostgreSQL: the search for every copy of an address reads each text column with its regex operator (~).
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _address_regex(address: str) -> str:
    """PostgreSQL regex for the address as a whole token (Joann's address contains Ann's)."""
    return r"(^|[^A-Za-z0-9._%+-])" + re.escape(address) + r"($|[^A-Za-z0-9-])"


def _places_holding(regex: str) -> list[str]:
    """Every column of every model's table (text, JSON or anything else, read as text) that matches."""
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = connection.ops.quote_name(model._meta.db_table)
            for field in model._meta.concrete_fields:
                column = connection.ops.quote_name(field.column)
                cursor.execute(f"SELECT count(*) FROM {table} WHERE CAST({column} AS text) ~* %s", [regex])  # noqa: S608
                if cursor.fetchone()[0]:
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def _erase_from_preferences(client: Client, person: Person) -> None:
    response = client.post(mailed_privacy_link(client, person.lead, "erase"), {"confirm": "yes"})
    assert response.status_code == 200 and b"Your data has been erased" in response.content


def test_the_search_finds_every_copy_before_erasure(ann: Person, joann: Person) -> None:
    """The check below can fail: before erasure it finds Ann in every area that holds her."""
    holding = set(_places_holding(_address_regex(ann.email)))
    assert {"leads.Lead.email", "emails.EmailEvent.description", "emails.EmailEvent.event_id",
            "funnel.StripeEvent.payload", "funnel.CheckoutSession.simulated_object"} <= holding
    assert "leads.Lead.first_name" in _places_holding(ann.first_name)
    assert _places_holding("zx-quota-7781") == ["emails.EmailEvent.description"]


def test_nothing_of_them_is_left_anywhere(client: Client, ann: Person, joann: Person) -> None:
    _erase_from_preferences(client, ann)

    assert _places_holding(_address_regex(ann.email)) == []
    assert _places_holding(ann.first_name) == []
    assert _places_holding("zx-quota-7781") == []
    # Joann (whose address contains Ann's) keeps every copy of hers.
    assert {"leads.Lead.email", "emails.EmailEvent.description", "funnel.StripeEvent.payload"} <= set(
        _places_holding(_address_regex(joann.email)))
    assert _places_holding("qq-full-4410") == ["emails.EmailEvent.description"]
    assert _places_holding(joann.first_name)


def test_what_stays_is_anonymous_and_what_the_books_need(client: Client, ann: Person, joann: Person) -> None:
    consents_before = list(ConsentRecord.objects.filter(lead=ann.lead).values_list("action", flat=True))
    _erase_from_preferences(client, ann)
    lead = Lead.objects.get(pk=ann.lead.pk)
    assert (lead.email, lead.first_name, lead.status) == (None, "", Lead.Status.ERASED)

    # Consent proof stays, as a hash of the address only.
    records = ConsentRecord.objects.filter(lead=lead)
    assert [r.action for r in records] == [*consents_before, "erase"]
    assert {r.email_sha256 for r in records} == {email_sha256(ann.email)}

    # The books: the purchase row with its amount, currency, date and status.
    purchase = Purchase.objects.get(stripe_session_id=ann.session_id)
    assert (purchase.lead_id, purchase.amount_cents, purchase.currency, purchase.status) == \
        (lead.pk, 997, "usd", Purchase.Status.PAID)
    assert purchase.created_at is not None
    # Stripe payloads keep the money and lose the person.
    completed = StripeEvent.objects.get(event_id="evt_ann_completed").payload["data"]["object"]
    assert (completed["amount_total"], completed["customer_details"], completed["customer_email"]) == (997, None, None)
    charge = StripeEvent.objects.get(event_id="evt_ann_charge").payload["data"]["object"]
    assert (charge["billing_details"], charge["receipt_email"], charge["payment_intent"]) == \
        (None, None, ann.payment_intent)

    # Health data and sign-in traces are gone.
    assert not PracticeSession.objects.filter(lead=lead).exists()
    assert not SignInLinkUse.objects.filter(lead=lead).exists()

    # Anonymous funnel counts: sent emails, events (without their text), clicks, the checkout.
    assert ScheduledEmail.objects.get(lead=lead, step="welcome").status == ScheduledEmail.Status.SENT
    assert ScheduledEmail.objects.get(lead=lead, step="day-7").skip_reason == "erased"
    assert not ScheduledEmail.objects.filter(lead=lead, status=ScheduledEmail.Status.SCHEDULED).exists()
    bounce = EmailEvent.objects.get(lead=lead, event_type="bounced")
    assert bounce.description == "" and bounce.scheduled_email is not None
    assert Click.objects.filter(lead=lead, target="upgrade").count() == 1
    assert CheckoutSession.objects.filter(lead=lead, status=CheckoutSession.Status.COMPLETE).count() == 1

    # Joann is untouched.
    assert PracticeSession.objects.filter(lead=joann.lead).count() == 1
    theirs = StripeEvent.objects.get(event_id="evt_joann_completed").payload["data"]["object"]
    assert theirs["customer_details"]["email"] == joann.email
    assert EmailEvent.objects.get(lead=joann.lead, event_type="bounced").description == joann.bounce_text


def test_erasure_is_all_or_nothing(ann: Person) -> None:
    """An eraser that fails rolls back the whole erasure: never half of a person left behind, unnoticed."""
    from leads import privacy

    def broken(person: privacy.ErasedPerson) -> None:
        raise RuntimeError("storage offline")

    privacy.register_eraser(broken)
    try:
        with pytest.raises(RuntimeError):
            lead_erase(lead=ann.lead)
    finally:
        privacy.unregister(broken)
    lead = Lead.objects.get(pk=ann.lead.pk)
    assert (lead.email, lead.status) == (ann.email, Lead.Status.SUBSCRIBED)
    assert PracticeSession.objects.filter(lead=lead).count() == 1
    assert "zx-quota-7781" in json.dumps(list(EmailEvent.objects.values_list("description", flat=True)))


def test_purge_of_unconfirmed_leads_erases_everywhere_too(client: Client, ann: Person) -> None:
    """The 30-day purge of never-confirmed addresses runs the same erasers: their bounce texts go as well."""
    from datetime import timedelta

    from django.utils import timezone

    from leads.services import lead_purge_unconfirmed

    Lead.objects.filter(pk=ann.lead.pk).update(status=Lead.Status.PENDING, is_customer=False,
                                               created_at=timezone.now() - timedelta(days=31))
    assert lead_purge_unconfirmed(created_before=timezone.now() - timedelta(days=30)) == 1
    assert _places_holding(_address_regex(ann.email)) == []
    assert _places_holding("zx-quota-7781") == []


def test_the_admin_erase_action_erases_everywhere_too(ann: Person, joann: Person) -> None:
    boss = Client()
    boss.force_login(get_user_model().objects.create_superuser("boss", "boss@painreset.example", "pw-boss-1234"))
    boss.post(reverse("admin:leads_lead_changelist"),
              {"action": "erase_selected", "_selected_action": [ann.lead.pk], "confirmed": "yes"})
    assert Lead.objects.get(pk=ann.lead.pk).status == Lead.Status.ERASED
    assert _places_holding(_address_regex(ann.email)) == []
    assert _places_holding("zx-quota-7781") == []
    assert not PracticeSession.objects.filter(lead=ann.lead).exists()

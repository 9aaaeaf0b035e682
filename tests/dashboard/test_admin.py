"""The lead admin (search, filters, timeline, actions), read-only consent, and the money admins' reprocess."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from emails.models import ScheduledEmail
from funnel.models import StripeEvent
from leads.models import ConsentRecord, Lead
from tests.dashboard.conftest import World

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:leads_lead_changelist"


@pytest.fixture
def boss(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def listed(client: Client, **params: str) -> set[str]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {lead.first_name for lead in response.context["cl"].result_list}


def test_search_and_filters(boss: Client, world: World) -> None:
    assert listed(boss, q="l3@example") == {"L3"}
    assert listed(boss, q="P1") == {"P1"}
    assert listed(boss, confirmed="no") == {"L4", "P2"}
    assert listed(boss, status__exact="unsubscribed") == {"L6"}
    assert listed(boss, is_customer__exact="1") == {"L1"}
    assert listed(boss, utm_source="google") == {"L3", "L4", "L6"}
    assert listed(boss, created_at__gte="2026-03-08T00:00:00+00:00",
                  created_at__lt="2026-03-10T00:00:00+00:00") == {"L5", "L7"}


def test_timeline_tells_the_whole_story_in_order(boss: Client, world: World) -> None:
    html = boss.get(reverse("admin:leads_lead_change", args=[world.leads["L2"].pk])).content.decode()
    expected = [
        "Signed up", "Email “welcome” (marketing) — Sent", "delivered", "opened",
        "Clicked Upgrade in “welcome”", "Started checkout from “welcome”",
        "Purchase 9.97 USD, credited to “welcome”", "Refunded 9.97",
    ]
    positions = [html.index(text) for text in expected]
    assert positions == sorted(positions)
    l6 = boss.get(reverse("admin:leads_lead_change", args=[world.leads["L6"].pk])).content.decode()
    assert "Clicked Free guide in “welcome”" in l6
    assert l6.index("Email “day-1”") < l6.index("Unsubscribed</strong>")


def test_unsubscribe_action(boss: Client, world: World) -> None:
    lead = world.leads["L1"]
    boss.post(reverse(CHANGELIST), {"action": "unsubscribe_selected", "_selected_action": [lead.pk]})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.UNSUBSCRIBED
    assert ConsentRecord.objects.filter(lead=lead, action="unsubscribe").count() == 1


def test_export_action_downloads_their_data(boss: Client, world: World) -> None:
    lead = world.leads["L3"]
    response = boss.post(reverse(CHANGELIST), {"action": "export_selected", "_selected_action": [lead.pk]})
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data[str(lead.pk)]["lead"]["email"] == "l3@example.com"


def test_erase_action_asks_first(boss: Client, world: World) -> None:
    lead = world.leads["L4"]
    ask = boss.post(reverse(CHANGELIST), {"action": "erase_selected", "_selected_action": [lead.pk]})
    assert b"This cannot be undone" in ask.content
    lead.refresh_from_db()
    assert lead.email == "l4@example.com"
    boss.post(reverse(CHANGELIST), {"action": "erase_selected", "_selected_action": [lead.pk], "confirmed": "yes"})
    lead.refresh_from_db()
    assert (lead.email, lead.status) == (None, Lead.Status.ERASED)


def test_resend_welcome_queues_one_copy_for_subscribed_leads_only(boss: Client, world: World) -> None:
    l1, l4 = world.leads["L1"], world.leads["L4"]
    for _ in range(2):  # a double click sends one copy
        boss.post(reverse(CHANGELIST), {"action": "resend_welcome", "_selected_action": [l1.pk, l4.pk]})
    copies = ScheduledEmail.objects.filter(step="welcome", stream="transactional")
    assert [row.lead_id for row in copies] == [l1.pk]
    assert copies[0].status == ScheduledEmail.Status.SCHEDULED


def test_consent_records_are_read_only_even_for_a_superuser(boss: Client, world: World) -> None:
    consent = ConsentRecord.objects.create(lead=world.leads["L1"], email_sha256="x" * 64, action="signup",
                                           consent_text="I agree")
    assert boss.get(reverse("admin:leads_consentrecord_add")).status_code == 403
    page = boss.get(reverse("admin:leads_consentrecord_change", args=[consent.pk]))
    assert page.status_code == 200 and b'value="Save"' not in page.content
    boss.post(reverse("admin:leads_consentrecord_change", args=[consent.pk]), {"action": "unsubscribe"})
    assert boss.post(reverse("admin:leads_consentrecord_delete", args=[consent.pk]), {"post": "yes"}).status_code == 403
    consent.refresh_from_db()
    assert consent.action == "signup"
    lead_page = boss.get(reverse("admin:leads_lead_change", args=[world.leads["L1"].pk])).content.decode()
    assert "I agree" in lead_page
    assert "consents-0-consent_text" not in lead_page  # shown, not editable


def test_stripe_event_reprocess_action(boss: Client) -> None:
    event = StripeEvent.objects.create(event_id="evt_1", event_type="customer.created",
                                       payload={"data": {"object": {}}}, status=StripeEvent.Status.FAILED,
                                       error="boom")
    response = boss.post(reverse("admin:funnel_stripeevent_changelist"),
                         {"action": "reprocess", "_selected_action": [event.pk]}, follow=True)
    assert "Reprocessed: 1 ignored." in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (StripeEvent.Status.IGNORED, 1)
    again = boss.post(reverse("admin:funnel_stripeevent_changelist"),
                      {"action": "reprocess", "_selected_action": [event.pk]}, follow=True)
    assert "Reprocessed: 1 nothing to do." in again.content.decode()


def test_purchase_admin_lists_the_credited_email(boss: Client, world: World) -> None:
    html = boss.get(reverse("admin:funnel_purchase_changelist")).content.decode()
    assert "day-1" in html and "9.97 USD" in html
    assert boss.get(reverse("admin:funnel_purchase_add")).status_code == 403

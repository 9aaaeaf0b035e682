"""'Download my data' holds everything we have about the person, from every area, and nobody else's."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.privacy.conftest import Person, mailed_privacy_link

pytestmark = [pytest.mark.django_db]


def _download(client: Client, person: Person) -> dict:
    response = client.post(mailed_privacy_link(client, person.lead, "export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def test_download_covers_mail_money_and_app(client: Client, ann: Person, joann: Person) -> None:
    data = _download(client, ann)

    assert data["lead"]["email"] == ann.email and data["lead"]["first_name"] == "Zephyrine"
    assert [c["action"] for c in data["consents"]] == ["signup", "confirm"]

    sent = {row["step"]: row for row in data["emails"]}
    assert set(sent) == {"confirm", "welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7",
                         "privacy-link"}  # the mail with the download link is part of it too
    assert sent["welcome"]["status"] == "sent" and sent["welcome"]["sent_at"]
    assert sent["day-7"]["status"] == "scheduled"
    events = {e["event_type"]: e for e in data["email_events"]}
    assert events["bounced"]["description"] == ann.bounce_text
    assert events["bounced"]["scheduled_email_step"] == "welcome"
    assert data["clicks"] == [{"target": "upgrade", "created_at": data["clicks"][0]["created_at"],
                               "scheduled_email_step": "welcome"}]

    [purchase] = data["purchases"]
    assert (purchase["stripe_session_id"], purchase["amount_cents"], purchase["currency"], purchase["status"]) == \
        (ann.session_id, 997, "usd", "paid")
    assert [s["stripe_session_id"] for s in data["checkout_sessions"]] == [ann.session_id]
    stripe = {e["event_type"]: e["payload"]["data"]["object"] for e in data["stripe_events"]}
    assert stripe["checkout.session.completed"]["customer_details"]["name"] == "Zephyrine Quill"
    assert stripe["charge.succeeded"]["billing_details"]["email"] == ann.email

    [practice] = data["practice_sessions"]
    assert (practice["local_date"], practice["areas"], practice["pain_before"], practice["pain_after"]) == \
        ("2026-11-20", ["neck", "upper-back"], 7, 4)
    assert len(data["sign_in"]) == 1 and data["sign_in"][0]["used_at"]


def test_download_holds_nothing_of_anyone_else(client: Client, ann: Person, joann: Person) -> None:
    text = json.dumps(_download(client, ann))
    for theirs in (joann.email, joann.first_name, "qq-full-4410", joann.session_id, joann.payment_intent):
        assert theirs not in text
    # And the other way round: Joann's file, whose address contains Ann's, has none of Ann's.
    text = json.dumps(_download(client, joann))
    for theirs in ('"ann.lee@example.org"', ann.first_name, "zx-quota-7781", ann.session_id):
        assert theirs not in text


def test_admin_export_action_gives_the_same_full_download(client: Client, ann: Person, joann: Person) -> None:
    theirs = _download(client, ann)  # first: asking for its link adds that email to what we hold
    boss = Client()
    boss.force_login(get_user_model().objects.create_superuser("boss", "boss@painreset.example", "pw-boss-1234"))
    response = boss.post(reverse("admin:leads_lead_changelist"),
                         {"action": "export_selected", "_selected_action": [ann.lead.pk]})
    assert response.status_code == 200
    assert json.loads(response.content) == {str(ann.lead.pk): theirs}

"""Issue 12 C/I, left over: the history of a person's suppression (set by the ESP's reports, lifted by staff with a
reason they typed) is data about that person, so it is in their download, and erasure scrubs the staff's words."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from leads.models import Lead
from tests.privacy.conftest import Person, mailed_privacy_link

pytestmark = [pytest.mark.django_db]


def _lift_in_admin(lead: Lead, reason: str) -> None:
    boss = Client()
    boss.force_login(get_user_model().objects.create_superuser("boss", "boss@painreset.example", "pw-boss-1234"))
    done = boss.post(reverse("admin:leads_lead_changelist"), {
        "action": "lift_suppression", "_selected_action": [lead.pk], "confirmed": "yes", "reason": reason})
    assert done.status_code == 302


def test_the_download_holds_the_suppression_history_and_erasure_scrubs_the_staff_reason(
        client: Client, ann: Person, joann: Person) -> None:
    assert Lead.objects.get(pk=ann.lead.pk).suppression == Lead.Suppression.HARD_BOUNCE  # her welcome bounced
    reason = f"{ann.first_name} phoned: new mailbox at the same address"
    _lift_in_admin(ann.lead, reason)

    response = client.post(mailed_privacy_link(client, ann.lead, "export"))
    assert response.status_code == 200
    history = json.loads(response.content)["suppression_history"]
    assert [(h["action"], h["suppression"], h["by_staff"]) for h in history] == [
        ("suppressed", "hard_bounce", False), ("lifted", "hard_bounce", True)]
    assert history[0]["reason"] == "hard bounce reported by test" and history[0]["at"]
    assert history[1]["reason"] == reason
    assert "boss" not in json.dumps(history)  # which staff member it was is theirs, not hers

    lead = Lead.objects.get(pk=ann.lead.pk)  # as it is now: the download moved its privacy-link state
    done = client.post(mailed_privacy_link(client, lead, "erase"), {"confirm": "yes"})
    assert b"Your data has been erased" in done.content
    lifted = lead.suppression_changes.get(action="lifted")
    assert lifted.reason == "[erased]"  # that it was lifted stays, for the audit; what staff wrote goes

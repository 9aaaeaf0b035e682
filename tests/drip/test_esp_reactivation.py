"""Issue 12 C, left over: lifting a hard-bounce suppression in our admin must reactivate the address at Postmark.

Postmark keeps its own inactive list after a hard bounce and refuses the address until it is reactivated through
its Bounce API, so a lift that only changed our lead left the reader unreachable. The lift now calls
`PUT /bounces/{bounceid}/activate` (the fake answers it as Postmark does) after it commits, best effort, and the
outcome is shown in the lead's timeline.
"""

from typing import Any

import pytest
from django.urls import reverse

from emails.models import EmailEvent
from leads.models import Lead, SuppressionChange

from .fake_esp import FakePostmark
from .test_bounces import START, bounce, esp, lift, send_receipt, staff_client, suppression, what_goes_out

pytestmark = [pytest.mark.django_db]
__all__ = ["esp"]  # the fixture, shared with test_bounces


def hard_bounced(esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, template: str) -> tuple[Lead, str]:
    """A lead whose receipt hard-bounced at Postmark; returns it and Postmark's bounce id."""
    clock(START)
    lead = make_lead(email="moved.on@example.com")
    bounce(settings, send_receipt(esp, lead, template), "HardBounce", START)
    assert suppression(lead) == Lead.Suppression.HARD_BOUNCE
    return lead, EmailEvent.objects.get(lead=lead, bounce="hard").event_id


def test_lifting_a_hard_bounce_reactivates_the_address_at_postmark(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str,
        django_capture_on_commit_callbacks: Any) -> None:
    commits = django_capture_on_commit_callbacks
    lead, bounce_id = hard_bounced(esp, make_lead, settings, clock, transactional_template)
    boss = staff_client(superuser=True)

    with commits(execute=True):  # the call is made once the lift has committed
        assert lift(boss, lead, confirmed="yes", reason="Reader wrote from a new address: old one works again"
                    ).status_code == 302
    assert esp.activated == [(bounce_id, "test-token")]  # the bounce Postmark reported, with our server token
    assert suppression(lead) == ""
    page = boss.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "Suppression lifted (Hard bounce)" in page
    assert f"Postmark reactivated the address (bounce {bounce_id})" in page
    assert "Reader wrote from a new address: old one works again" in page  # the staff's reason stays whole
    assert what_goes_out(esp, lead, transactional_template)["transactional"] == "sent"


def test_a_failed_reactivation_keeps_the_lift_and_tells_staff_to_do_it_by_hand(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str,
        django_capture_on_commit_callbacks: Any) -> None:
    commits = django_capture_on_commit_callbacks
    lead, bounce_id = hard_bounced(esp, make_lead, settings, clock, transactional_template)
    esp.activate_script.append((422, {"ErrorCode": 0, "Message": "This bounce cannot be activated."}))

    with commits(execute=True):
        assert lift(staff_client(superuser=True), lead, confirmed="yes", reason="Asked by the reader"
                    ).status_code == 302
    assert esp.activated == []
    assert suppression(lead) == ""  # our decision stands; only the ESP's side is left to do
    reason = SuppressionChange.objects.get(lead=lead, action="lifted").reason
    assert reason.startswith("Asked by the reader · ESP: Postmark reactivation of bounce")
    assert "This bounce cannot be activated." in reason and "reactivate it in Postmark's dashboard" in reason


def test_lifting_a_soft_bounce_calls_nothing_at_the_esp(
        esp: FakePostmark, make_lead: Any, settings: Any, clock: Any, transactional_template: str,
        django_capture_on_commit_callbacks: Any) -> None:
    commits = django_capture_on_commit_callbacks
    from .test_bounces import soft_bounced_lead

    lead, _ = soft_bounced_lead(esp, make_lead, settings, clock, transactional_template)
    with commits(execute=True):
        assert lift(staff_client(superuser=True), lead, confirmed="yes", reason="Mailbox emptied").status_code == 302
    assert esp.activated == [] and suppression(lead) == ""
    assert SuppressionChange.objects.get(lead=lead, action="lifted").reason == "Mailbox emptied"

"""Rights: only "Can send broadcasts" sends, schedules or cancels; view-only staff see everything and press nothing;
more than 1,000 recipients asks for the count to be typed back."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import call_command

from emails.broadcasts.models import Broadcast
from emails.models import ScheduledEmail
from leads.models import Lead

from .conftest import broadcast_through_admin, client_for, segment_through_admin, send, shown_count, staff

pytestmark = pytest.mark.django_db

EVERYONE = [{"kind": "status", "option": "subscribed"}]
BODY = "Hello{{ if first_name }}, {{ first_name }}{{ end }}.\n\nA short note.\n"


@pytest.fixture
def draft(sender: Any, make_lead: Any) -> Broadcast:
    for _ in range(2):
        make_lead()
    segment = segment_through_admin(sender, "Everyone", EVERYONE)
    return broadcast_through_admin(sender, "Note", segment, subject="A note", body=BODY)


def view_only() -> Any:
    call_command("setup_marketing_group", stdout=None)
    user = User.objects.create_user("viv", "viv@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    return client_for(user)


def test_view_only_staff_see_the_broadcast_its_count_and_report_and_can_press_nothing(
        draft: Broadcast, sender: Any) -> None:
    viewer = view_only()
    page = viewer.get(f"/admin/emails/broadcast/{draft.pk}/change/")
    assert page.status_code == 200
    assert 'id="recipient-count"' in page.content.decode() and 'id="cancel-broadcast"' not in page.content.decode()
    send_page = viewer.get(f"/admin/emails/broadcast/{draft.pk}/send/")
    assert send_page.status_code == 200
    html = send_page.content.decode()
    assert 'id="send-broadcast"' not in html and 'id="no-send-right"' in html
    assert viewer.get(f"/admin/dashboard/broadcasts/{draft.pk}/").status_code == 200
    assert viewer.get(f"/admin/emails/emailcopy/editor/{draft.step}/").status_code == 200

    assert send(viewer, draft, 2).status_code == 403
    assert viewer.post(f"/admin/emails/broadcast/{draft.pk}/cancel/").status_code == 403
    assert viewer.post("/admin/emails/broadcast/add/", {"name": "x", "segment": draft.segment_id}).status_code == 403
    assert not ScheduledEmail.objects.filter(step=draft.step).exists()
    draft.refresh_from_db()
    assert draft.status == Broadcast.Status.DRAFT
    # The sender with the right does what the viewer could not.
    assert send(sender, draft, 2).status_code == 302


def test_writing_a_broadcast_is_not_the_right_to_send_it(draft: Broadcast) -> None:
    writer = client_for(staff("wren", "view_broadcast", "add_broadcast", "change_broadcast", "view_emailcopy",
                              "add_emailcopy", "change_emaildraft"))
    assert writer.get(f"/admin/emails/broadcast/{draft.pk}/send/").status_code == 200
    assert send(writer, draft, 2).status_code == 403
    assert not ScheduledEmail.objects.filter(step=draft.step).exists()


def test_more_than_1000_recipients_asks_for_the_count_typed_back(sender: Any) -> None:
    Lead.objects.bulk_create([Lead(email=f"many{n}@example.com", status=Lead.Status.SUBSCRIBED)
                              for n in range(1001)])
    segment = segment_through_admin(sender, "Everyone", EVERYONE)
    broadcast = broadcast_through_admin(sender, "Big one", segment, subject="To many", body=BODY)
    count = shown_count(sender, broadcast)
    assert count == 1001
    page = sender.get(f"/admin/emails/broadcast/{broadcast.pk}/send/").content.decode()
    assert 'name="typed_count"' in page

    assert send(sender, broadcast, count).status_code == 400  # pressed without typing
    assert send(sender, broadcast, count, typed_count=1000).status_code == 400  # typed wrong
    assert not ScheduledEmail.objects.filter(step=broadcast.step).exists()
    assert send(sender, broadcast, count, typed_count=1001).status_code == 302
    assert ScheduledEmail.objects.filter(step=broadcast.step).count() == 1001
    assert not mail.outbox  # rows, not messages: the dispatcher sends them


def test_a_small_broadcast_needs_no_typing(draft: Broadcast, sender: Any) -> None:
    page = sender.get(f"/admin/emails/broadcast/{draft.pk}/send/").content.decode()
    assert 'name="typed_count"' not in page
    assert send(sender, draft, 2).status_code == 302


def test_the_starter_text_is_never_sent(sender: Any, make_lead: Any) -> None:
    make_lead()
    segment = segment_through_admin(sender, "Everyone", EVERYONE)
    response = sender.post("/admin/emails/broadcast/add/", {"name": "Unwritten", "segment": segment.pk})
    assert response.status_code == 302
    broadcast = Broadcast.objects.get(name="Unwritten")
    refused = send(sender, broadcast, shown_count(sender, broadcast))
    assert refused.status_code == 400 and "starter text" in refused.content.decode()
    assert not ScheduledEmail.objects.filter(step=broadcast.step).exists()

"""A sender's world for broadcasts: staff with and without the right to send, readers with known stories, and
the drip tests' dispatcher settings and clock (the real dispatcher sends the broadcasts' rows)."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from emails.broadcasts.models import Broadcast
from emails.segments.models import Segment
from tests.drip.conftest import _drip_settings, clock, make_lead  # noqa: F401 - fixtures used by these tests

MARKETER_PERMISSIONS = ("view_segment", "add_segment", "change_segment", "view_broadcast", "add_broadcast",
                        "change_broadcast", "send_broadcast", "view_emailcopy", "add_emailcopy",
                        "change_emaildraft", "view_lead")


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=("emails", "leads"),
                                                        codename__in=codenames))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sender(db: None) -> Client:
    """A marketer who may build segments, write broadcasts and send them (the root `marketer` is view-only)."""
    return client_for(staff("mara", *MARKETER_PERMISSIONS))


def segment_through_admin(client: Client, name: str, conditions: list[dict[str, Any]]) -> Segment:
    """The segment builder's form as a sender fills it: one row per condition."""
    data: dict[str, Any] = {"name": name, "match": "all", "conditions-TOTAL_FORMS": str(len(conditions)),
                            "conditions-INITIAL_FORMS": "0", "conditions-MIN_NUM_FORMS": "0",
                            "conditions-MAX_NUM_FORMS": "20"}
    for n, row in enumerate(conditions):
        data.update({f"conditions-{n}-{key}": value for key, value in row.items()})
    response = client.post("/admin/emails/segment/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Segment.objects.get(name=name)


def broadcast_through_admin(client: Client, name: str, segment: Segment, *, subject: str, body: str) -> Broadcast:
    """Add the broadcast, then write and publish its email in the copy editor, as the add page leads to."""
    response = client.post("/admin/emails/broadcast/add/", {"name": name, "segment": segment.pk})
    assert response.status_code == 302, response.content.decode()[:3000]
    broadcast = Broadcast.objects.get(name=name)
    assert response["Location"] == f"/admin/emails/emailcopy/editor/{broadcast.step}/"
    response = client.post(response["Location"], {"subject": subject, "preheader": "", "body": body,
                                                  "revision": "0", "action": "publish"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return broadcast


def shown_count(client: Client, broadcast: Broadcast) -> int:
    """The recipient count the send page shows (and carries in its form)."""
    response = client.get(f"/admin/emails/broadcast/{broadcast.pk}/send/")
    assert response.status_code == 200
    shown = re.search(r'id="recipient-count"><strong>(\d+)</strong>', response.content.decode())
    assert shown is not None
    assert response.context["form"].initial["confirmed_count"] == int(shown.group(1))
    return int(shown.group(1))


def send(client: Client, broadcast: Broadcast, count: int, **timing: Any) -> Any:
    data = {"timing": "now", "confirmed_count": str(count), **{k: str(v) for k, v in timing.items()}}
    return client.post(f"/admin/emails/broadcast/{broadcast.pk}/send/", data)

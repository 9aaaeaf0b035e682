"""The segment builder in the admin, as a marketer uses it: rows of conditions, the live count on the segment's page,
the lead list narrowed to the segment, and the CSV download of exactly those readers. View-only staff see it all
and can press nothing."""

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from emails.models import Click
from emails.segments.models import Segment
from emails.services import click_record
from leads.models import Lead
from leads.services import lead_make_customer, lead_revoke_access
from tests.segments.conftest import human_click, make_segment, reader, tag
from tests.segments.page_forms import form_fields

pytestmark = pytest.mark.django_db
LEAD_EMAIL_CELL = re.compile(r'class="field-email"><a [^>]*>([^<]+)</a>')


@pytest.fixture
def editor(marketer: User) -> User:
    """A marketer who may also build segments and download leads (the view-only group plus three rights)."""
    user = User.objects.create_user("ed", "ed@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["add_segment", "change_segment", "export_lead"]))
    return user


def _readers_for_did_not_buy_clicked_14_days() -> None:
    start = timezone.now()
    for name, days_ago in (("ann", 3), ("bob", 13), ("cat", 20)):
        with time_machine.travel(start - timedelta(days=days_ago)):
            human_click(reader(name))
    buyer = reader("dan")
    lead_make_customer(lead=buyer)
    refunded = reader("eve")
    lead_make_customer(lead=refunded)
    lead_revoke_access(lead=refunded)
    with time_machine.travel(start - timedelta(days=1)):
        human_click(buyer)
        human_click(refunded)
    scanned = reader("fay")  # only a mailbox scanner opened her links
    click_record(lead_id=scanned.pk, row_id=None, target=Click.Target.FREE_GUIDE, method="HEAD")
    reader("gus")  # never clicked
    reader("hal", status=Lead.Status.ERASED, email=None)


def _lead_list_emails(client: Client, query: str) -> set[str]:
    response = client.get(reverse("admin:leads_lead_changelist") + query)
    assert response.status_code == 200
    return set(LEAD_EMAIL_CELL.findall(response.content.decode()))


def _csv_emails(client: Client, query: str) -> set[str]:
    response = client.get(reverse("admin:leads_lead_export_csv") + query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined, arg-type]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    return {row["email"] for row in rows}


def test_a_marketer_builds_did_not_buy_clicked_in_the_last_14_days(client: Client, editor: User) -> None:
    _readers_for_did_not_buy_clicked_14_days()
    client.force_login(editor)
    add_page = client.get(reverse("admin:emails_segment_add"))
    fields = form_fields(add_page.content.decode(), "segment_form")
    fields.update({"name": "Did not buy, clicked in the last 14 days", "match": "all",
                   "conditions-0-kind": "purchase", "conditions-0-option": "not_bought",
                   "conditions-1-kind": "clicked_within", "conditions-1-number": "14", "_continue": "1"})
    response = client.post(reverse("admin:emails_segment_add"), fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get()
    assert segment.conditions == [{"kind": "purchase", "value": "not_bought"},
                                  {"kind": "clicked_within", "days": 14}]
    assert segment.updated_by == "ed"

    page = client.get(reverse("admin:emails_segment_change", args=[segment.pk])).content.decode()
    assert "<strong>2</strong> readers in this segment now" in page
    assert "Never bought AND clicked a link in the last 14 day(s)" in page
    expected = {"ann@example.com", "bob@example.com"}
    assert _lead_list_emails(client, f"?segment={segment.pk}") == expected
    assert f'href="/admin/leads/lead/?segment={segment.pk}"' in page
    assert _csv_emails(client, f"?segment={segment.pk}") == expected
    # The list's other filters still apply on top of the segment, in the list and its download alike.
    Lead.objects.filter(email="bob@example.com").update(utm_source="fb")
    assert _lead_list_emails(client, f"?segment={segment.pk}&utm_source=fb") == {"bob@example.com"}
    assert _csv_emails(client, f"?segment={segment.pk}&utm_source=fb") == {"bob@example.com"}


def test_the_builder_names_a_wrong_row_and_saves_nothing(client: Client, editor: User) -> None:
    client.force_login(editor)
    fields = form_fields(client.get(reverse("admin:emails_segment_add")).content.decode(), "segment_form")
    fields.update({"name": "Keen", "match": "all", "conditions-0-kind": "has_tag", "conditions-0-text": "Two Words"})
    response = client.post(reverse("admin:emails_segment_add"), fields)
    assert response.status_code == 200
    assert "Has tag: &#x27;Two Words&#x27; is not a tag name" in response.content.decode()
    assert not Segment.objects.exists()


def test_editing_shows_the_saved_rows_and_a_row_can_be_deleted(client: Client, editor: User) -> None:
    tag(reader("keen", time_zone="Europe/Berlin"), "interested")
    reader("far", time_zone="Europe/Berlin")
    segment = make_segment([{"kind": "time_zone", "value": "Europe/Berlin"}, {"kind": "has_tag", "tag": "interested"},
                            {"kind": "signup_date", "after": "2020-01-01", "before": None}], name="Berlin, keen")
    client.force_login(editor)
    url = reverse("admin:emails_segment_change", args=[segment.pk])
    page = client.get(url).content.decode()
    assert "<strong>1</strong> reader in this segment now" in page
    fields = form_fields(page, "segment_form")
    assert (fields["conditions-0-kind"], fields["conditions-0-text"]) == ("time_zone", "Europe/Berlin")
    assert (fields["conditions-1-kind"], fields["conditions-1-text"]) == ("has_tag", "interested")
    assert (fields["conditions-2-kind"], fields["conditions-2-after"]) == ("signup_date", "2020-01-01")
    fields["conditions-1-DELETE"] = "on"
    fields["_continue"] = "1"
    assert client.post(url, fields).status_code == 302
    segment.refresh_from_db()
    assert [c["kind"] for c in segment.conditions] == ["time_zone", "signup_date"]
    assert "<strong>2</strong> readers in this segment now" in client.get(url).content.decode()


def _snapshot() -> list[Any]:
    return [list(Segment.objects.values()), list(Lead.objects.values()),
            list(Lead.tags.through.objects.values())]


def test_view_only_staff_see_segments_and_counts_and_can_press_nothing(client: Client, marketer: User) -> None:
    keen = reader("keen")
    tag(keen, "interested")
    reader("cold")
    segment = make_segment([{"kind": "has_tag", "tag": "interested"}], name="Keen readers")
    before = _snapshot()
    client.force_login(marketer)

    listing = client.get(reverse("admin:emails_segment_changelist")).content.decode()
    assert "Keen readers" in listing and "has tag “interested”" in listing
    assert reverse("admin:emails_segment_add") not in listing
    url = reverse("admin:emails_segment_change", args=[segment.pk])
    page = client.get(url).content.decode()
    assert "<strong>1</strong> reader in this segment now" in page
    assert 'name="_save"' not in page and "segment-conditions" not in page and "export.csv" not in page
    assert _lead_list_emails(client, f"?segment={segment.pk}") == {"keen@example.com"}

    fields = {"name": "Mine now", "match": "any", "conditions-TOTAL_FORMS": "1", "conditions-INITIAL_FORMS": "0",
              "conditions-0-kind": "status", "conditions-0-option": "subscribed"}
    assert client.post(url, fields).status_code == 403
    assert client.post(reverse("admin:emails_segment_add"), fields).status_code == 403
    assert client.post(reverse("admin:emails_segment_delete", args=[segment.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:leads_lead_export_csv") + f"?segment={segment.pk}").status_code == 403

    lead_page = client.get(reverse("admin:leads_lead_change", args=[keen.pk])).content.decode()
    assert "interested" in lead_page and 'name="tags_add"' not in lead_page and 'name="tags_remove"' not in lead_page
    assert client.post(reverse("admin:leads_lead_change", args=[keen.pk]),
                       {"tags_add": "vip", "tags_remove": "interested"}).status_code == 403
    changelist = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert "tag_add_selected" not in changelist and "Download these leads" not in changelist
    for action in ("tag_add_selected", "tag_remove_selected"):
        client.post(reverse("admin:leads_lead_changelist"), {"action": action, "_selected_action": [keen.pk],
                                                             "confirmed": "yes", "tag": "interested"})
    assert _snapshot() == before

"""The dashboard page, its CSV downloads, and who may see them."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.models import Purchase
from leads.models import Lead
from tests.dashboard.conftest import World, at, make_email, make_lead, make_purchase

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-03-02", "end": "2026-03-08"}


@pytest.fixture
def admin_client_(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def marketer(db: None) -> Client:
    call_command("setup_marketing_group", stdout=io.StringIO())
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    client = Client()
    client.force_login(user)
    return client


def read_csv(response: Any) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_dashboard_lives_inside_the_admin_and_is_linked_from_its_index(admin_client_: Client) -> None:
    assert reverse("admin-dashboard") == "/admin/dashboard/"
    index = admin_client_.get("/admin/")
    assert reverse("admin-dashboard").encode() in index.content


def test_dashboard_shows_the_figures(admin_client_: Client, world: World) -> None:
    response = admin_client_.get(reverse("admin-dashboard"), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Conversion dashboard" in html
    assert "compared with the previous 7 days: 2026-02-23 to 2026-03-01" in html
    # The funnel chart: an accessible SVG with a title, the numbers written beside the bars.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in html
    assert "<title id=\"fb-title-" in html
    assert "Paid: 2 (3.3% of the top)" in html  # in the chart's <desc>
    assert "$9.97" in html  # net revenue
    assert "Opens are unreliable" in html
    assert "<polyline" in html  # conversion over time
    for table in ("funnel", "revenue", "timing", "emails", "sources", "cohorts", "daily"):
        assert reverse("admin-dashboard-csv", args=[table]) in html


def test_dashboard_filters_by_source(admin_client_: Client, world: World) -> None:
    response = admin_client_.get(reverse("admin-dashboard"), {**PERIOD, "utm_source": "google"})
    html = response.content.decode()
    assert "Signups: 3 (15.0% of the top)" in html  # 3 of google's 20 visits
    assert '<option value="google" selected>' in html


def test_invalid_range_shows_an_error_and_falls_back(admin_client_: Client, world: World) -> None:
    response = admin_client_.get(reverse("admin-dashboard"), {"start": "2026-03-08", "end": "2026-03-01"})
    assert response.status_code == 200
    assert "start date must be on or before" in response.content.decode()


def test_csv_of_the_email_table(admin_client_: Client, world: World) -> None:
    response = admin_client_.get(reverse("admin-dashboard-csv", args=["emails"]), PERIOD)
    assert 'filename="emails_2026-03-02_2026-03-08.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Email", "Sent", "Delivered", "Opened", "Open rate", "Clicked", "Click rate", "Upgrade clicks",
                       "Scanner clicks", "Purchases credited", "Gross revenue", "Net revenue", "Unsubscribes",
                       "Bounces", "Complaints"]
    assert rows[1] == ["welcome", "5", "4", "2", "40.00", "2", "40.00", "1", "0", "1", "9.97", "0.00", "1", "1", "1"]
    assert rows[2] == ["day-1", "2", "2", "1", "50.00", "1", "50.00", "1", "0", "1", "9.97", "9.97", "1", "0", "0"]
    assert len(rows) == 9


def test_scanner_clicks_are_shown_apart_and_never_counted_as_a_readers(admin_client_: Client, world: World) -> None:
    # A mailbox scanner opened every link of L5's welcome and L6's day-1: recorded, marked, not a reader's click.
    Click.objects.create(lead=world.leads["L5"], scheduled_email=world.emails["L5-welcome"], target="upgrade",
                         created_at=at(3, 8, 23, 5), machine=Click.Machine.EARLY)
    Click.objects.create(lead=world.leads["L6"], scheduled_email=world.emails["L6-day-1"], target="upgrade",
                         created_at=at(3, 5, 8), machine=Click.Machine.AGENT)
    rows = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["emails"]), PERIOD))
    header = rows[0]
    by_step = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert [by_step["welcome"][c] for c in ("Clicked", "Upgrade clicks", "Scanner clicks")] == ["2", "1", "1"]
    assert [by_step["day-1"][c] for c in ("Clicked", "Upgrade clicks", "Scanner clicks")] == ["1", "1", "1"]
    funnel = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["funnel"]), PERIOD))
    # The funnel's "clicked an upgrade link" counts people only: L1 and L2, as without the scanner.
    assert next(row for row in funnel if row[0] == "Clicked an upgrade link")[1] == "2"


def test_csv_of_funnel_sources_cohorts_and_revenue(admin_client_: Client, world: World) -> None:
    funnel = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["funnel"]), PERIOD))
    assert funnel[1] == ["Landing page visits", "60", "", "100.00", "30", "100.00"]
    assert funnel[7] == ["Paid", "2", "100.00", "3.33", "1", "100.00"]
    sources = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["sources"]),
                                         {**PERIOD, "sort": "signup_rate"}))
    assert [row[:5] for row in sources[1:]] == [["fb", "spring", "40", "3", "7.50"],
                                                ["google", "brand", "20", "3", "15.00"]]
    cohorts = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["cohorts"]), PERIOD))
    assert cohorts[1] == ["2026-03-02", "6", "16.67", "33.33", "33.33", "33.33", "33.33"]
    revenue = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["revenue"]), PERIOD))
    assert revenue[3][:3] == ["Net revenue (gross minus refunds)", "9.97", "9.97"]


def test_unknown_csv_table_is_404(admin_client_: Client) -> None:
    assert admin_client_.get("/admin/dashboard/nope.csv").status_code == 404


def test_sortable_source_table_links(admin_client_: Client, world: World) -> None:
    html = admin_client_.get(reverse("admin-dashboard"), {**PERIOD, "sort": "-paid"}).content.decode()
    assert "sort=paid#sources" in html  # clicking the sorted column again flips it
    assert 'aria-sort="descending"' in html


# ---------------------------------------------------------------- permissions


def test_non_staff_are_sent_to_the_admin_login(db: None, world: World) -> None:
    client = Client()
    client.force_login(User.objects.create_user("joe", "joe@example.com", "pw"))
    for url in (reverse("admin-dashboard"), reverse("admin-dashboard-csv", args=["funnel"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert Client().get(reverse("admin-dashboard"))["Location"].startswith("/admin/login/")


def test_staff_without_the_marketing_rights_get_403(db: None) -> None:
    client = Client()
    client.force_login(User.objects.create_user("sam", "sam@example.com", "pw", is_staff=True))
    assert client.get(reverse("admin-dashboard")).status_code == 403


def test_marketing_group_sees_dashboard_and_leads_but_changes_nothing(marketer: Client, world: World) -> None:
    lead = world.leads["L1"]
    assert marketer.get(reverse("admin-dashboard"), PERIOD).status_code == 200
    assert marketer.get(reverse("admin-dashboard-csv", args=["sources"]), PERIOD).status_code == 200
    changelist = marketer.get(reverse("admin:leads_lead_changelist"))
    assert changelist.status_code == 200
    assert b"l1@example.com" in changelist.content
    # No action is offered: none that changes anything, and not the export either (personal data leaving the
    # system is a permission of its own, leads.export_lead, which the group does not have).
    html = changelist.content.decode()
    for action in ("unsubscribe_selected", "erase_selected", "resend_welcome", "delete_selected", "export_selected"):
        assert f'value="{action}"' not in html
    change_page = marketer.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert change_page.status_code == 200
    assert b"Timeline" in change_page.content
    assert b'type="submit" value="Save"' not in change_page.content

    edit = marketer.post(reverse("admin:leads_lead_change", args=[lead.pk]), {"email": "x@example.com"})
    assert edit.status_code == 403
    forced_action = marketer.post(reverse("admin:leads_lead_changelist"),
                                  {"action": "unsubscribe_selected", "_selected_action": [lead.pk]})
    assert forced_action.status_code in (200, 302)
    lead.refresh_from_db()
    assert (lead.email, lead.status) == ("l1@example.com", Lead.Status.SUBSCRIBED)
    assert marketer.post(reverse("admin:leads_lead_delete", args=[lead.pk]), {"post": "yes"}).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert marketer.get(reverse("admin:funnel_purchase_changelist")).status_code == 200
    assert marketer.get(reverse("admin:funnel_stripeevent_changelist")).status_code == 200


def test_setup_marketing_group_is_idempotent(db: None) -> None:
    call_command("setup_marketing_group", stdout=io.StringIO())
    call_command("setup_marketing_group", stdout=io.StringIO())
    group = Group.objects.get(name="marketing")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_lead", "view_purchase", "view_scheduledemail", "view_consentrecord"} <= codenames
    assert all(code.startswith("view_") for code in codenames)


# ---------------------------------------------------------------- constant query count


def build_leads(n: int, offset: int) -> None:
    for i in range(n):
        lead = make_lead(f"q{offset + i}", ["fb", "google", "tiktok"][i % 3], f"c{i % 4}",
                         at(3, 2 + i % 7, 1 + i % 20))
        welcome = make_email(lead, "welcome", lead.created_at + timedelta(minutes=5), events=("delivered", "opened"))
        day1 = make_email(lead, "day-1", lead.created_at + timedelta(days=1), events=("delivered",))
        assert welcome.sent_at and day1.sent_at
        Click.objects.create(lead=lead, scheduled_email=day1, target="upgrade", created_at=day1.sent_at)
        if i % 3 == 0:
            make_purchase(lead, lead.created_at + timedelta(days=1, hours=1), day1,
                          status=Purchase.Status.REFUNDED if i % 9 == 0 else Purchase.Status.PAID)
        if i % 5 == 0:
            Lead.objects.filter(pk=lead.pk).update(unsubscribed_at=welcome.sent_at + timedelta(hours=1),
                                                   status=Lead.Status.UNSUBSCRIBED)


def dashboard_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin-dashboard"), {**PERIOD, "fresh": "1"})
        assert response.status_code == 200
    return len(captured.captured_queries)


def test_dashboard_query_count_does_not_grow_with_leads(admin_client_: Client) -> None:
    build_leads(10, 0)
    with_10 = dashboard_queries(admin_client_)
    build_leads(90, 10)
    assert Lead.objects.count() == 100 and EmailEvent.objects.count() == 300
    assert ScheduledEmail.objects.count() == 200
    with_100 = dashboard_queries(admin_client_)
    assert with_100 == with_10
    # 25 before the list of experiments and the live sending rate (one query each, not cached: they change at once);
    # the list of broadcasts (one query when there are none); the deliverability panel reads its built days and their
    # rollup rows (two), and here, with no rollup built, counts its days live (three, and two planner settings
    # around one).
    assert with_100 <= 35


def test_figures_are_cached_for_a_few_minutes_and_can_be_recomputed(admin_client_: Client, world: World) -> None:
    first = admin_client_.get(reverse("admin-dashboard"), PERIOD).content.decode()
    assert "Signups: 6 (10.0% of the top)" in first
    assert "fresh=1" in first  # the "recompute now" link
    make_lead("Late", "fb", "spring", at(3, 7, 12))
    with CaptureQueriesContext(connection) as captured:
        cached = admin_client_.get(reverse("admin-dashboard"), PERIOD).content.decode()
    assert "Signups: 6 (10.0% of the top)" in cached
    assert not any("leads_lead" in q["sql"] and "COUNT" in q["sql"] for q in captured.captured_queries)
    fresh = admin_client_.get(reverse("admin-dashboard"), {**PERIOD, "fresh": "1"}).content.decode()
    assert "Signups: 7 (11.7% of the top)" in fresh
    # The CSV reads the same (now refreshed) figures as the page.
    funnel = read_csv(admin_client_.get(reverse("admin-dashboard-csv", args=["funnel"]), PERIOD))
    assert funnel[2][:2] == ["Signups", "7"]


def test_the_dashboard_shows_the_sending_rate_and_the_time_spent_throttled(admin_client_: Client,
                                                                          settings: Any) -> None:
    from django.core.cache import cache
    from django.utils import timezone

    from emails import esp_throttle

    settings.ESP_MAX_MESSAGES_PER_SECOND = 50
    now = timezone.now()
    leads = Lead.objects.bulk_create([Lead(email=f"rate{i}@example.com", status=Lead.Status.SUBSCRIBED)
                                      for i in range(90)])
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome", send_at=now, sent_at=now,
                                                       status=ScheduledEmail.Status.SENT) for lead in leads])
    cache.delete(esp_throttle._throttled_key(now.date()))
    esp_throttle._count_throttled(12.4)
    page = admin_client_.get(reverse("admin-dashboard")).content.decode()
    assert "Sending now: 1.5 sequence emails/s over the last minute (the ESP account allows 50/s)" in page
    assert "rate limit today: 12 s." in page

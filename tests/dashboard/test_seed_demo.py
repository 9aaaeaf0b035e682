"""seed_demo fills a plausible demo funnel, marks it, and never mixes into real data unless forced."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard import selectors
from funnel.dashboard.selectors import DashboardFilters
from funnel.models import DailyVisit, Purchase
from leads.models import ConsentRecord, Lead

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    err = io.StringIO()
    call_command("seed_demo", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_refuses_when_real_leads_exist_unless_forced() -> None:
    Lead.objects.create(email="real@example.com")
    with pytest.raises(CommandError, match="real"):
        seed("--leads", "10")
    assert Lead.objects.count() == 1
    seed("--leads", "10", "--force")
    assert Lead.objects.filter(is_demo=True).count() == 10
    assert Lead.objects.filter(is_demo=False).count() == 1


def test_demo_data_is_plausible_and_dashboard_reads_it() -> None:
    progress = seed("--leads", "1500", "--chunk", "400")
    assert "100% 1,500/1,500 leads" in progress
    leads = Lead.objects.all()
    assert leads.count() == 1500 and not leads.filter(is_demo=False).exists()
    assert leads.values("utm_source").distinct().count() >= 5
    oldest = leads.order_by("created_at").first()
    assert oldest is not None and oldest.created_at > timezone.now() - timedelta(days=91)
    assert 0.78 < leads.filter(confirmed_at__isnull=False).count() / 1500 < 0.93
    emails_per_lead = ScheduledEmail.objects.count() / 1500
    assert 6.5 < emails_per_lead < 9.5
    sent = ScheduledEmail.objects.filter(stream="marketing", status="sent").count()
    opened = EmailEvent.objects.filter(event_type="opened", scheduled_email__stream="marketing").values(
        "scheduled_email").distinct().count()
    assert 0.25 < opened / sent < 0.55
    buyers = Purchase.objects.values("lead").distinct().count()
    assert 0.01 < buyers / 1500 < 0.10
    assert Purchase.objects.filter(scheduled_email__isnull=False).exists()
    assert Click.objects.filter(target="upgrade").exists()
    assert ConsentRecord.objects.filter(action="signup").count() == 1500
    assert DailyVisit.objects.exists()

    today = timezone.now().date()
    summary = selectors.funnel_summary(DashboardFilters(start=today - timedelta(days=89), end=today))
    counts = [step.count for step in summary.steps]
    assert counts[1] == 1500
    assert counts == sorted(counts, reverse=True)  # every step is a subset of the one before
    assert summary.net_cents > 0

    seed("--leads", "200")  # a second run replaces the demo data instead of piling up
    assert Lead.objects.count() == 200
    assert Lead.objects.create(email="new@example.com").pk  # the id sequence moved past the copied rows


def test_seeding_after_the_landing_page_was_visited_today_adds_to_the_counter() -> None:
    # Opening `/` first (as anyone trying the demo does) made today's direct-traffic counter.
    from django.test import Client

    Client(HTTP_USER_AGENT="Mozilla/5.0 (demo visitor)").get("/")
    today = timezone.now().date()
    assert DailyVisit.objects.get(date=today, utm_source="").count == 1
    seed("--leads", "400", "--days", "1")
    assert Lead.objects.filter(is_demo=True).count() == 400
    direct_signups = Lead.objects.filter(utm_source="", created_at__date=today).count()
    assert direct_signups > 0  # so the demo did count direct visits today, into the same counter
    # The real visit is still counted, with the demo's on top (at least one visit per demo signup).
    assert DailyVisit.objects.get(date=today, utm_source="").count >= 1 + direct_signups

"""Staff with view rights only (the "marketing" group) can look at everything and act as nobody.

Issue 12 G: such a user opened the email preview for any lead and got live sign-in, confirmation and preferences
links (they signed in as a buyer, confirmed a stranger, erased a lead), and ran the "retry" action. Here a
marketing-group user walks every admin URL and POSTs every admin action; the database must not change, and every
link with a token found in any response must fail when an anonymous visitor tries it.
"""

import io
import re
from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from emails.admin import PREVIEW_STEPS
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from funnel.dashboard import tables
from funnel.models import PracticeSession, StripeEvent
from leads.models import Lead
from tests.dashboard.conftest import World, make_email
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.django_db]
PERIOD = {"start": "2026-03-02", "end": "2026-03-08"}
SNAPSHOT_APPS = ("leads", "emails", "funnel", "webhooks", "admin", "auth")
# Every URL of ours that carries a token, absolute (as in emails) or as a path.
TOKEN_URL = re.compile(
    r"(?:https?://[^/\s\"'<>]+)?/(?:confirm|preferences|u|c|upgrade|signin|privacy)/[A-Za-z0-9_:.\-]+/"
    r"(?:(?:export|erase|reason)/)?")


@pytest.fixture
def history(world: World) -> World:
    """The dashboard's world, plus what every other admin page and action could act on."""
    failed = make_email(world.leads["L2"], "day-1", timezone.now())
    ScheduledEmail.objects.filter(pk=failed.pk).update(status=ScheduledEmail.Status.FAILED, last_error="550 gone")
    Lead.objects.filter(pk=world.leads["L5"].pk).update(suppression=Lead.Suppression.COMPLAINT,
                                                        suppressed_at=timezone.now())
    StripeEvent.objects.create(event_id="evt_failed_1", event_type="customer.created", status=StripeEvent.Status.FAILED,
                               payload={"id": "evt_failed_1", "type": "customer.created", "data": {"object": {}}},
                               error="timeout")
    PracticeSession.objects.create(lead=world.leads["L1"], local_date=date(2026, 3, 5), areas=["neck"],
                                   pain_before=6, pain_after=3)
    # A running experiment, one of whose arms a sent email carries: its pages, its "end" action, its results.
    experiment = Experiment.objects.create(step="day-1", name="Day 1 subject")
    arm = Variant.objects.create(experiment=experiment, label="A", subject="Day 1: start here")
    Variant.objects.create(experiment=experiment, label="B", subject="Day 1: ten minutes")
    ScheduledEmail.objects.filter(pk=world.emails["L1-day-1"].pk).update(variant=arm)
    # An outgoing webhook endpoint with a delivery: its "send again" and "roll secret" must do nothing either.
    endpoint = Endpoint.objects.create(url="https://hooks.example.com/in", events=["lead.confirmed"], secret="whsec_s")
    Delivery.objects.create(endpoint=endpoint, event_id="evt_w1", event_type="lead.confirmed", body="{}",
                            status=Delivery.Status.FAILED)
    return world


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketer(db: None) -> Client:
    call_command("setup_marketing_group", stdout=io.StringIO())
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    return _login(user)


def snapshot() -> dict[str, list[str]]:
    """Every row of every model of ours (and the admin log, users and groups), as text."""
    return {model._meta.label: sorted(repr(row) for row in model._default_manager.values_list())
            for label in SNAPSHOT_APPS for model in apps.get_app_config(label).get_models()}


def _admin_pages(client: Client) -> list[Any]:
    """GET every admin page of every registered model: list, each object's page and history, add and delete."""
    responses = [client.get(reverse("admin:index"))]
    for model in admin.site._registry:
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        responses.append(client.get(reverse(f"{name}_changelist")))
        responses.append(client.get(reverse(f"{name}_add")))
        for pk in model._default_manager.order_by("pk").values_list("pk", flat=True)[:4]:
            for view in ("change", "history", "delete"):
                responses.append(client.get(reverse(f"{name}_{view}", args=[pk])))
            # Saving the page as it stands, and deleting, are refused.
            responses.append(client.post(reverse(f"{name}_change", args=[pk]), {"_save": "Save"}))
            responses.append(client.post(reverse(f"{name}_delete", args=[pk]), {"post": "yes"}))
    return responses


def _actions(model_admin: "admin.ModelAdmin[Any]") -> list[tuple[Any, str]]:
    """Every action a model admin has, whoever may run it: the site-wide ones (delete) and its own."""
    found = [model_admin.get_action(name) for name in [*dict(admin.site.actions), *(model_admin.actions or [])]]
    return [(action[0], action[1]) for action in found if action is not None]


def _every_action(client: Client) -> list[Any]:
    """POST every action of every model admin on all its rows, with every confirmation it could ask for."""
    responses = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        selected = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]
        for _func, name in _actions(model_admin):
            responses.append(client.post(url, {"action": name, "_selected_action": selected, "index": "0",
                                               "confirmed": "yes", "post": "yes", "reason": "walk test"}))
    return responses


def _previews(client: Client, world: World) -> list[Any]:
    """Every step previewed for a buyer, a pending lead and a subscriber; every outbox row; a test send."""
    url = reverse("admin:emails_preview")
    responses = [client.get(url)]
    for lead in (world.leads["L1"], world.leads["L4"], world.leads["L2"]):
        for step in PREVIEW_STEPS:
            for part in ("html", "text"):
                responses.append(client.get(url, {"lead": str(lead.pk), "step": step, "part": part}))
    for row_id in ScheduledEmail.objects.values_list("pk", flat=True):
        for part in ("html", "text"):
            responses.append(client.get(reverse("admin:emails_preview_row", args=[row_id]), {"part": part}))
    responses.append(client.post(url, {"lead": world.leads["L1"].pk, "step": "signin",
                                       "send_to": "outsider@example.net"}))
    return responses


def _dashboard(client: Client) -> list[Any]:
    responses = [client.get(reverse("admin-dashboard"), PERIOD)]
    for experiment in Experiment.objects.prefetch_related("variants"):
        responses.append(client.get(reverse("admin-experiment", args=[experiment.pk])))
        for variant in experiment.variants.all():
            responses.append(client.post(reverse("admin-experiment-promote", args=[experiment.pk]),
                                         {"variant": variant.pk}))
    for table in tables.TABLE_BUILDERS:
        responses.append(client.get(reverse("admin-dashboard-csv", args=[table]), PERIOD))
    return responses


def _text(response: Any) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


# How our views turn a link down: a bad token's page (400), nothing there (404), a method it does not take (405).
REFUSED = {400, 404, 405}


def _try_as_anyone(url: str) -> list[tuple[str, str, int]]:
    """Every way a stranger could use a link: open it, and press whatever button its page has. A crash counts as
    not refused: it got past the token check (a live upgrade link reaches Stripe)."""
    path = re.sub(r"^https?://[^/]+", "", url)
    stranger = Client(raise_request_exception=False)
    attempts = [("GET", path, stranger.get(path).status_code)]
    data = {"action": "unsubscribe", "confirm": "yes", "List-Unsubscribe": "One-Click", "reason": "other"}
    attempts.append(("POST", path, stranger.post(path, data).status_code))
    return attempts


def test_a_marketing_user_walks_every_admin_url_and_action_and_changes_nothing(
        marketer: Client, history: World) -> None:
    before = snapshot()
    responses = [*_admin_pages(marketer), *_every_action(marketer), *_previews(marketer, history),
                 *_dashboard(marketer),
                 marketer.get(reverse("admin:leads_lead_change", args=[history.leads["L1"].pk]))]

    assert all(r.status_code < 500 for r in responses)
    assert mail.outbox == []  # the test send was refused
    timeline = responses[-1]
    assert timeline.status_code == 200 and b"Timeline" in timeline.content
    previews = [r for r in responses if r.get("Content-Type", "").startswith(("text/plain", "text/html"))
                and b"Hi " in r.content]
    assert previews, "the previews rendered no email"

    links = sorted({m.group(0) for r in responses for m in TOKEN_URL.finditer(_text(r))})
    # Not a vacuous scan: the previews do show the links of sign-in, confirmation, settings and click emails.
    for kind in ("/signin/", "/confirm/", "/preferences/", "/u/", "/c/"):
        assert any(kind in link for link in links), f"no {kind} link in any preview"
    refused = [attempt for link in links for attempt in _try_as_anyone(link)]
    working = [attempt for attempt in refused if attempt[2] not in REFUSED]
    assert working == [], f"links that worked for an anonymous visitor: {working}"

    assert snapshot() == before


def test_previews_mark_their_links_as_disabled_for_every_staff_user(history: World) -> None:
    boss = _login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    buyer = history.leads["L1"]
    html = boss.get(reverse("admin:emails_preview"), {"lead": str(buyer.pk), "step": "signin", "part": "html"})
    text = boss.get(reverse("admin:emails_preview"), {"lead": str(buyer.pk), "step": "signin", "part": "text"})
    assert b"link disabled in preview" in html.content and b"links that would act for this reader are disabled" \
        in html.content
    assert text.content.startswith(b"Subject: ") and b"are disabled" in text.content
    links = {m.group(0) for r in (html, text) for m in TOKEN_URL.finditer(_text(r))}
    assert any("/signin/" in link for link in links)
    assert all(status in REFUSED for link in links for _method, _path, status in _try_as_anyone(link))
    buyer.refresh_from_db()
    assert buyer.last_sign_in_at is None


def test_a_test_send_carries_inert_links_and_is_not_booked_to_the_lead(history: World) -> None:
    boss = _login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    pending = history.leads["L4"]
    boss.post(reverse("admin:emails_preview"), {"lead": pending.pk, "step": "confirm", "send_to": "qa@example.net"})
    message: Any = mail.outbox[0]  # anymail's message: tags and metadata ride along
    assert len(mail.outbox) == 1
    assert message.to == ["qa@example.net"] and message.subject.startswith("[TEST] ")
    body = message.body + "".join(str(part) for part, _type in message.alternatives) + str(message.extra_headers)
    links = {m.group(0) for m in TOKEN_URL.finditer(body)}
    assert any("/confirm/" in link for link in links) and any("/preferences/" in link for link in links)
    assert all(status in REFUSED for link in links for _method, _path, status in _try_as_anyone(link))
    pending.refresh_from_db()
    assert pending.status == Lead.Status.PENDING
    # An ESP event about the test message (a bounce from a mistyped address) names no lead and no row.
    assert "lead_id" not in message.metadata and "row_id" not in message.metadata


def test_every_admin_action_declares_the_permission_it_needs() -> None:
    """Django offers an action without `permissions` to everyone who may see the list: view-only staff too."""
    undeclared = [f"{model._meta.label}.{name}" for model, model_admin in admin.site._registry.items()
                  for func, name in _actions(model_admin) if not getattr(func, "allowed_permissions", None)]
    assert undeclared == []


def test_exporting_personal_data_is_a_permission_the_marketing_group_does_not_have(
        marketer: Client, history: World) -> None:
    lead = history.leads["L1"]
    refused = marketer.post(reverse("admin:leads_lead_changelist"),
                            {"action": "export_selected", "_selected_action": [lead.pk]})
    assert refused.status_code in (200, 302) and "Content-Disposition" not in refused
    exporter = User.objects.create_user("dpo", "dpo@example.com", "pw", is_staff=True)
    exporter.groups.add(Group.objects.get(name="marketing"))
    exporter.user_permissions.add(Permission.objects.get(codename="export_lead"))
    granted = _login(exporter).post(reverse("admin:leads_lead_changelist"),
                                    {"action": "export_selected", "_selected_action": [lead.pk]})
    assert granted["Content-Disposition"] == 'attachment; filename="leads-export.json"'
    assert b"l1@example.com" in granted.content


def test_setup_marketing_group_gives_view_rights_only(db: None) -> None:
    call_command("setup_marketing_group", stdout=io.StringIO())
    codenames = set(Group.objects.get(name="marketing").permissions.values_list("codename", flat=True))
    assert codenames and all(code.startswith("view_") for code in codenames)
    assert "export_lead" not in codenames


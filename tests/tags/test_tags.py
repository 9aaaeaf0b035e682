"""Tags: added and removed by staff (on the lead's page and on many leads at once) and by the reader through a
tagging link in an email, every change in the lead's timeline. A mailbox scanner's GET of a tagging link tags nobody:
only the reader's press (a POST with its CSRF token) does."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from emails.content.checks import copy_problems
from emails.content.services import copy_publish
from emails.content.text import CopyText
from emails.models import Click, ScheduledEmail
from emails.rendering import render_email
from funnel.dashboard.timeline import lead_timeline
from leads import tokens
from leads.models import Lead, TagChange
from leads.selectors import lead_export
from leads.services import lead_erase, lead_tag_add, lead_tag_remove
from tests.segments.conftest import reader, sent
from tests.segments.page_forms import form_fields

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
TAGGING_BODY = "# Hello\n\nWant the details? [Yes, tell me more](link:free_guide tag:interested)\n"
CLICK_LINK = re.compile(r'https?://[^"\s)]+/c/([^/"\s]+)/')


def _tags(lead: Lead) -> set[str]:
    return set(lead.tags.values_list("name", flat=True))


def _timeline_titles(lead: Lead) -> list[str]:
    return [entry.title + " / " + "; ".join(entry.details) for entry in lead_timeline(lead=lead) if entry.kind == "tag"]


def test_tag_changes_are_idempotent_and_in_the_timeline() -> None:
    lead = reader("ann")
    assert lead_tag_add(lead=lead, tag=" Interested ", source=TagChange.Source.ADMIN, by="ed")
    assert not lead_tag_add(lead=lead, tag="interested", source=TagChange.Source.ADMIN, by="ed")
    assert lead_tag_remove(lead=lead, tag="interested", source=TagChange.Source.ADMIN, by="ed")
    assert not lead_tag_remove(lead=lead, tag="interested", source=TagChange.Source.ADMIN, by="ed")
    assert _tags(lead) == set()
    assert _timeline_titles(lead) == ["Tag added: interested / by staff in the admin (ed)",
                                      "Tag removed: interested / by staff in the admin (ed)"]


def test_the_persons_data_download_has_their_tags() -> None:
    lead = reader("ann")
    lead_tag_add(lead=lead, tag="webinar-may", source=TagChange.Source.ADMIN, by="staffer-zoe")
    data = lead_export(lead=lead)
    assert data["tags"] == ["webinar-may"]
    assert [(t["tag"], t["action"], t["how"]) for t in data["tag_history"]] == [("webinar-may", "added", "admin")]
    assert "staffer-zoe" not in str(data)


def test_erasure_takes_the_tags_with_the_person() -> None:
    lead = reader("ann")
    lead_tag_add(lead=lead, tag="back-pain", source=TagChange.Source.ADMIN, by="ed")
    lead_erase(lead=lead)
    assert _tags(lead) == set() and not TagChange.objects.filter(lead=lead).exists()
    assert not lead_tag_add(lead=lead, tag="again", source=TagChange.Source.ADMIN)


def test_staff_tag_and_untag_a_reader_on_their_page(admin_client: Client) -> None:
    lead = reader("ann")
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    fields = form_fields(admin_client.get(url).content.decode(), "lead_form")
    fields["tags_add"] = "interested, webinar-may"
    assert admin_client.post(url, fields).status_code == 302
    assert _tags(lead) == {"interested", "webinar-may"}

    page = admin_client.get(url).content.decode()
    assert "Tag added: interested" in page  # the timeline on the same page
    fields = form_fields(page, "lead_form")
    fields["tags_remove"] = ["webinar-may"]
    assert admin_client.post(url, fields).status_code == 302
    assert _tags(lead) == {"interested"}
    assert _timeline_titles(lead)[-1] == "Tag removed: webinar-may / by staff in the admin (admin)"

    fields = form_fields(admin_client.get(url).content.decode(), "lead_form")
    fields["tags_add"] = "Two Words!"
    response = admin_client.post(url, fields)
    assert response.status_code == 200 and "Not a tag name: Words!." in response.content.decode()


def test_staff_tag_many_readers_with_an_action(admin_client: Client) -> None:
    ann, bob, cat = reader("ann"), reader("bob"), reader("cat")
    lead_tag_add(lead=bob, tag="vip", source=TagChange.Source.ADMIN)
    changelist = reverse("admin:leads_lead_changelist")
    chosen = {"action": "tag_add_selected", "_selected_action": [ann.pk, bob.pk]}
    ask = admin_client.post(changelist, chosen)
    assert ask.status_code == 200 and "Give these 2 lead(s) a tag" in ask.content.decode()
    done = admin_client.post(changelist, {**chosen, "confirmed": "yes", "tag": "vip"}, follow=True)
    assert "Tagged 1 lead(s) “vip”; the others already had it." in done.content.decode()
    assert (_tags(ann), _tags(bob), _tags(cat)) == ({"vip"}, {"vip"}, set())
    admin_client.post(changelist, {"action": "tag_remove_selected", "_selected_action": [ann.pk, bob.pk, cat.pk],
                                   "confirmed": "yes", "tag": "vip"})
    assert (_tags(ann), _tags(bob), _tags(cat)) == (set(), set(), set())
    assert _timeline_titles(ann) == ["Tag added: vip / by staff in the admin (admin)",
                                     "Tag removed: vip / by staff in the admin (admin)"]


def _tagging_link(lead: Lead, step: str = "day-2") -> tuple[ScheduledEmail, str]:
    row = sent(lead, step, timezone.now() - timedelta(hours=2))
    html = render_email(lead, row, copy=CopyText(subject="Day 2", preheader="", body=TAGGING_BODY)).html
    token = CLICK_LINK.findall(html)[0]
    assert tokens.unsign("click", token)["tag"] == "interested"
    return row, reverse("email-click", args=[token])


def test_a_scanners_get_tags_nobody_and_the_readers_press_does() -> None:
    lead = reader("ann")
    row, url = _tagging_link(lead)
    scanner = Client(enforce_csrf_checks=True)
    scanner.head(url, HTTP_USER_AGENT="Microsoft Office/16.0 (SafeLinks)")
    page = scanner.get(url, HTTP_USER_AGENT=BROWSER)
    assert page.status_code == 200 and "Continue to the free quick reference" in page.content.decode()
    assert _tags(lead) == set()  # a GET, whoever makes it, only records the click
    assert scanner.post(url, HTTP_USER_AGENT=BROWSER).status_code == 403  # no CSRF token: not our page's press
    assert _tags(lead) == set()

    person = Client(enforce_csrf_checks=True)
    fields = form_fields(person.get(url, HTTP_USER_AGENT=BROWSER).content.decode(), "tag-link-form")
    pressed = person.post(url, fields, HTTP_USER_AGENT=BROWSER)
    assert pressed.status_code == 303 and pressed["Location"] == reverse("free-guide")
    assert _tags(lead) == {"interested"}
    assert _timeline_titles(lead) == ["Tag added: interested / by the reader, through a link in an email"]
    assert Click.objects.filter(lead=lead, scheduled_email=row, machine=Click.Machine.HUMAN).exists()
    assert person.post(url, fields, HTTP_USER_AGENT=BROWSER).status_code == 303  # a second press: still one tag
    assert TagChange.objects.filter(lead=lead).count() == 1


def test_the_press_confirms_a_reader_who_clicked_the_moment_it_arrived() -> None:
    lead = reader("ann")
    row, url = _tagging_link(lead)
    ScheduledEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now())  # opened seconds after delivery
    person = Client(enforce_csrf_checks=True)
    page = person.get(url, HTTP_USER_AGENT=BROWSER).content.decode()
    assert Click.objects.get(lead=lead).machine == Click.Machine.EARLY
    person.post(url, form_fields(page, "tag-link-form"), HTTP_USER_AGENT=BROWSER)
    assert Click.objects.get(lead=lead).machine == Click.Machine.HUMAN
    assert _tags(lead) == {"interested"}


def test_an_ordinary_link_takes_no_post_and_an_erased_reader_gets_no_tag(client: Client) -> None:
    lead = reader("ann")
    row = sent(lead, "day-2", timezone.now() - timedelta(hours=2))
    plain = reverse("email-click", args=[tokens.sign("click", {"row": row.pk, "lead": lead.pk, "t": "free_guide"})])
    assert client.post(plain).status_code == 405
    _row, url = _tagging_link(lead, "day-3")
    lead_erase(lead=lead)
    assert client.post(url).status_code == 303
    assert _tags(lead) == set()


def test_the_sequences_fast_render_carries_the_tag_too() -> None:
    """Published sequence copy is rendered once per step with slots (emails/render_cache.py)."""
    copy_publish(step="day-2", text=CopyText(subject="Day 2", preheader="", body=TAGGING_BODY), origin="editor")
    lead = reader("ann")
    row = sent(lead, "day-2", timezone.now())
    with time_machine.travel(timezone.now(), tick=False):
        fast = render_email(lead, row)
        full = render_email(lead, row, reuse_step_render=False)
    assert fast.html == full.html and fast.text == full.text
    payload = tokens.unsign("click", CLICK_LINK.findall(fast.html)[0])
    assert payload == {"row": row.pk, "lead": lead.pk, "t": "free_guide", "tag": "interested"}


@pytest.mark.parametrize("body, problem", [
    (TAGGING_BODY, None),
    ("[Buy](link:upgrade tag:keen)", "cannot tag a reader"),
    ("[More](link:free_guide tag:Not Valid)", "is not a tag name"),
    ("[More](link:free_guide tag:bad!)", "is not a tag name"),
    ("[More](link:nowhere tag:keen)", "Unknown link link:nowhere"),
])
def test_the_copy_checks_know_tagging_links(body: str, problem: str | None) -> None:
    found = copy_problems("day-2", CopyText(subject="Day 2", preheader="", body=body)).get("body", [])
    assert (problem is None and not found) or any(problem and problem in message for message in found), found


def test_the_text_part_shows_the_tagging_link() -> None:
    lead = reader("ann")
    row = sent(lead, "day-2", timezone.now())
    text = render_email(lead, row, copy=CopyText(subject="Day 2", preheader="", body=TAGGING_BODY)).text
    assert re.search(r"Yes, tell me more \(https?://\S+/c/\S+/\)", text)
    assert "tag:interested" not in text


def test_view_only_staff_cannot_tag(client: Client, marketer: User) -> None:
    lead = reader("ann")
    client.force_login(marketer)
    client.post(reverse("admin:leads_lead_changelist"),
                {"action": "tag_add_selected", "_selected_action": [lead.pk], "confirmed": "yes", "tag": "vip"})
    assert _tags(lead) == set()

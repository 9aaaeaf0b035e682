"""The editor's pages through the Django test client (no JavaScript): the list, the edit page's preview button,
problems next to the fields, a refused save showing the other change, history, diff and a one-click rollback."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from emails.content.models import EmailCopy, EmailDraft
from emails.content.text import CopyText, text_of
from leads import tokens
from tests.editor.conftest import STEP, client_for, form_data
from tests.guide.helpers import make_lead

pytestmark = [pytest.mark.django_db]
EDIT = reverse("admin:emails_copy_edit", args=[STEP])


def _text(copy: EmailCopy, **changes: str) -> CopyText:
    return CopyText(**{**text_of(copy).__dict__, **changes})


def test_the_admin_index_links_to_the_list_of_every_email(day3: EmailCopy, editor: User) -> None:
    client = client_for(editor)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:emails_emailcopy_changelist") in index

    page = client.get(reverse("admin:emails_emailcopy_changelist")).content.decode()
    assert EDIT in page and day3.subject in page and "No unpublished changes" in page


def test_the_preview_button_renders_the_typed_copy_without_saving_it(day3: EmailCopy, editor: User) -> None:
    lead = make_lead(first_name="Ruth")
    response = client_for(editor).post(EDIT, form_data(_text(day3, subject="Typed, not saved"), 0,
                                                       action="preview", lead=str(lead.pk)))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview-subject">Typed, not saved<' in page
    assert "Ruth" in page  # the chosen reader, in the iframes' srcdoc and the text part
    assert not EmailDraft.objects.filter(step=STEP).exclude(revision=0).exists()
    # No working token anywhere in the page: every personal link is inert.
    assert tokens.INERT_TOKEN in page


def test_problems_show_next_to_the_field_and_the_draft_is_kept(day3: EmailCopy, editor: User) -> None:
    typed = _text(day3, body=day3.body + "\nHi {{ frist_name }}\n")
    response = client_for(editor).post(EDIT, form_data(typed, 0, action="publish"))

    page = response.content.decode()
    assert response.status_code == 400
    problems = re.search(r'id="problems-body"[^>]*>(.*?)</ul>', page, re.S)
    assert problems and "frist_name" in problems.group(1)
    assert "Your draft is saved" in page
    assert "Hi {{ frist_name }}" in page  # what was typed is still in the form
    assert text_of(EmailDraft.objects.get(step=STEP)) == typed
    assert EmailCopy.objects.filter(step=STEP).count() == EmailCopy.objects.filter(version__lte=day3.version,
                                                                                   step=STEP).count()


def test_a_refused_save_shows_the_other_change_and_keeps_yours(
        day3: EmailCopy, editor: User, second_editor: User) -> None:
    first, second = client_for(editor), client_for(second_editor)
    assert first.post(EDIT, form_data(_text(day3, subject="Eddie was here"), 0, action="save")).status_code == 302

    response = second.post(EDIT, form_data(_text(day3, subject="Sasha was here"), 0, action="save"))

    page = response.content.decode()
    assert response.status_code == 409
    assert "Saved meanwhile by eddie" in page and "Eddie was here" in page
    assert 'value="Sasha was here"' in page  # her text is still in the form
    assert EmailDraft.objects.get(step=STEP).subject == "Eddie was here"
    # The form now names Eddie's revision: saving again replaces it, knowingly.
    assert second.post(EDIT, form_data(_text(day3, subject="Sasha was here"), 1, action="save")).status_code == 302
    assert EmailDraft.objects.get(step=STEP).subject == "Sasha was here"


def test_publish_history_diff_and_rollback(day3: EmailCopy, editor: User) -> None:
    client = client_for(editor)
    response = client.post(EDIT, form_data(_text(day3, subject="Day 3, sharper"), 0, action="publish"))
    assert response.status_code == 302
    new = EmailCopy.objects.get(step=STEP, version=day3.version + 1)
    assert (new.subject, new.created_by, new.origin) == ("Day 3, sharper", editor, "editor")

    history = client.get(reverse("admin:emails_copy_history", args=[STEP])).content.decode()
    assert "Day 3, sharper" in history and "eddie" in history

    diff = client.get(reverse("admin:emails_copy_diff", args=[STEP]),
                      {"a": day3.version, "b": new.version}).content.decode()
    assert f"<del><span class=\"visually-hidden\">removed: </span>{day3.subject}</del>" in diff
    assert "<ins><span class=\"visually-hidden\">added: </span>Day 3, sharper</ins>" in diff

    rollback = client.post(reverse("admin:emails_copy_rollback", args=[STEP, day3.version]))
    assert rollback.status_code == 302
    newest = EmailCopy.objects.filter(step=STEP).order_by("-version").first()
    assert newest and newest.version == day3.version + 2 and newest.subject == day3.subject
    assert newest.origin == "rollback" and newest.created_by == editor


def test_rollback_is_a_post(day3: EmailCopy, editor: User) -> None:
    response = client_for(editor).get(reverse("admin:emails_copy_rollback", args=[STEP, day3.version]))
    assert response.status_code == 405


def test_a_test_send_goes_to_your_own_address_with_inert_links(day3: EmailCopy, editor: User) -> None:
    response = client_for(editor).post(EDIT, form_data(_text(day3, subject="Draft subject"), 0, action="test",
                                                       send_to="someone@else.example"))

    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["eddie@example.com"] and message.subject.startswith("[TEST]")
    assert "Draft subject" in message.subject
    assert tokens.INERT_TOKEN in message.body or "PREVIEW" in message.body
    assert not EmailDraft.objects.filter(step=STEP).exclude(revision=0).exists()


def test_the_preview_endpoint_answers_json_for_the_typed_copy(day3: EmailCopy, editor: User) -> None:
    client = client_for(editor, )
    url = reverse("admin:emails_copy_preview", args=[STEP])
    answer = client.post(url, form_data(_text(day3, subject="Live {{ first_name }}"), 0)).json()

    assert answer["subject"] == "Live Sam" and "Live Sam" in answer["html"]
    assert "color-scheme:dark" in answer["html_dark"] and answer["problems"] == {}
    bad = client.post(url, form_data(_text(day3, subject=""), 0)).json()
    assert bad["problems"]["subject"]

"""The "marketing" group (view-only staff) reads the editor, history and diffs, and can change nothing: the
buttons are not there, and the POSTs behind them are refused with 403 all the same."""

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from emails.content.drafts import draft_publish, draft_save
from emails.content.models import EmailCopy, EmailDraft
from emails.content.text import CopyText, text_of
from tests.editor.conftest import STEP, client_for, form_data

pytestmark = [pytest.mark.django_db]


def _state() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    return (list(EmailCopy.objects.order_by("step", "version").values_list("version", "subject")),
            list(EmailDraft.objects.order_by("step").values_list("revision", "subject")))


@pytest.fixture
def two_versions(day3: EmailCopy, editor: User) -> EmailCopy:
    draft = draft_save(step=STEP, text=CopyText(**{**text_of(day3).__dict__, "subject": "Newer"}), base_revision=0,
                       user=editor)
    return draft_publish(step=STEP, revision=draft.revision, user=editor)


def test_the_marketing_group_views_the_editor_history_and_diffs(
        two_versions: EmailCopy, marketer: User) -> None:
    client = client_for(marketer)
    pages = {
        "list": client.get(reverse("admin:emails_emailcopy_changelist")),
        "edit": client.get(reverse("admin:emails_copy_edit", args=[STEP])),
        "history": client.get(reverse("admin:emails_copy_history", args=[STEP])),
        "diff": client.get(reverse("admin:emails_copy_diff", args=[STEP])),
    }

    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 200)
    edit, history = pages["edit"].content.decode(), pages["history"].content.decode()
    assert "Newer" in edit and "Preview" in edit
    for button in ('value="save"', 'value="publish"', 'value="test"'):
        assert button not in edit
    assert "Roll back to this" not in history
    assert "Newer" in pages["diff"].content.decode()


def test_the_marketing_group_cannot_save_publish_roll_back_or_test_send(
        two_versions: EmailCopy, marketer: User) -> None:
    client = client_for(marketer)
    before = _state()
    edit = reverse("admin:emails_copy_edit", args=[STEP])
    typed = CopyText("Marketer's subject", "", two_versions.body)
    draft = EmailDraft.objects.get(step=STEP)

    refused = [client.post(edit, form_data(typed, draft.revision, action=action))
               for action in ("save", "publish", "test")]
    refused.append(client.post(reverse("admin:emails_copy_rollback", args=[STEP, two_versions.version - 1])))

    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert _state() == before and mail.outbox == []


def test_the_marketing_group_cannot_publish_through_the_stock_admin(two_versions: EmailCopy, marketer: User) -> None:
    client = client_for(marketer)
    before = _state()
    assert client.post(reverse("admin:emails_emailcopy_add"), {"step": STEP, "version": 99}).status_code == 403
    assert client.post(reverse("admin:emails_emailcopy_delete", args=[two_versions.pk]),
                       {"post": "yes"}).status_code == 403
    assert _state() == before

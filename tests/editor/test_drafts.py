"""The editor's services: drafts that survive failed checks, refused overwrites, publish, rollback, who and when."""

import pytest
from django.contrib.auth.models import User

from emails.content.diff import copy_diff, diff_text
from emails.content.drafts import CopyInvalid, DraftConflict, copy_rollback, draft_publish, draft_save
from emails.content.models import EmailCopy, EmailDraft
from emails.content.text import CopyText, text_of
from tests.editor.conftest import STEP

pytestmark = [pytest.mark.django_db]


def _edited(copy: EmailCopy, **changes: str) -> CopyText:
    return CopyText(**{**text_of(copy).__dict__, **changes})


def test_a_saved_draft_changes_nothing_sent(day3: EmailCopy, editor: User) -> None:
    draft = draft_save(step=STEP, text=_edited(day3, subject="Day 3, new words"), base_revision=0, user=editor)

    assert draft.revision == 1 and draft.subject == "Day 3, new words" and draft.updated_by == editor
    assert EmailCopy.objects.filter(step=STEP).order_by("-version").first() == day3


def test_the_second_of_two_saves_from_one_revision_is_refused_and_shown_the_first(
        day3: EmailCopy, editor: User, second_editor: User) -> None:
    draft_save(step=STEP, text=_edited(day3, subject="Eddie's subject"), base_revision=0, user=editor)

    with pytest.raises(DraftConflict) as refused:
        draft_save(step=STEP, text=_edited(day3, subject="Sasha's subject"), base_revision=0, user=second_editor)

    assert refused.value.draft.subject == "Eddie's subject" and refused.value.draft.updated_by == editor
    assert EmailDraft.objects.get(step=STEP).subject == "Eddie's subject"
    # Having seen it, Sasha saves over it on purpose, naming the revision she was shown.
    draft = draft_save(step=STEP, text=_edited(day3, subject="Sasha's subject"),
                       base_revision=refused.value.draft.revision, user=second_editor)
    assert draft.subject == "Sasha's subject" and draft.revision == 2


def test_a_half_written_draft_survives_a_failed_publish(day3: EmailCopy, editor: User) -> None:
    half = _edited(day3, subject="", body=day3.body + "\nSee you {{ frist_name }}\n")
    draft = draft_save(step=STEP, text=half, base_revision=0, user=editor)

    with pytest.raises(CopyInvalid) as invalid:
        draft_publish(step=STEP, revision=draft.revision, user=editor)

    assert set(invalid.value.problems) >= {"subject", "body"}
    assert "frist_name" in " ".join(invalid.value.problems["body"])
    assert text_of(EmailDraft.objects.get(step=STEP)) == half  # nothing typed is lost
    assert EmailCopy.objects.filter(step=STEP).order_by("-version").first() == day3  # nothing published


def test_publish_makes_the_next_version_and_records_who(day3: EmailCopy, editor: User) -> None:
    draft = draft_save(step=STEP, text=_edited(day3, subject="Day 3: one more time"), base_revision=0, user=editor)

    version = draft_publish(step=STEP, revision=draft.revision, user=editor)

    assert (version.version, version.subject, version.origin) == (day3.version + 1, "Day 3: one more time", "editor")
    assert version.created_by == editor and version.created_at is not None
    assert EmailDraft.objects.get(step=STEP).based_on_version == version.version


def test_publishing_a_stale_revision_is_refused(day3: EmailCopy, editor: User, second_editor: User) -> None:
    draft_save(step=STEP, text=_edited(day3, subject="first"), base_revision=0, user=editor)
    draft_save(step=STEP, text=_edited(day3, subject="second"), base_revision=1, user=second_editor)

    with pytest.raises(DraftConflict):
        draft_publish(step=STEP, revision=1, user=editor)
    assert not EmailCopy.objects.filter(step=STEP, version=day3.version + 1).exists()


def test_rollback_publishes_a_copy_of_the_old_version(day3: EmailCopy, editor: User) -> None:
    draft = draft_save(step=STEP, text=_edited(day3, subject="A subject to regret"), base_revision=0, user=editor)
    draft_publish(step=STEP, revision=draft.revision, user=editor)

    back = copy_rollback(step=STEP, version=day3.version, user=editor)

    assert back.version == day3.version + 2 and back.origin == EmailCopy.Origin.ROLLBACK
    assert text_of(back) == text_of(day3) and back.created_by == editor
    assert f"version {day3.version}" in back.note
    history = list(EmailCopy.objects.filter(step=STEP).order_by("version").values_list("subject", "origin"))
    assert history[-3:] == [(day3.subject, day3.origin), ("A subject to regret", "editor"), (day3.subject, "rollback")]
    # The draft had nothing unpublished: it follows the rollback, so an editor still open on the regretted text
    # is refused rather than publishing it back.
    follow = EmailDraft.objects.get(step=STEP)
    assert text_of(follow) == text_of(day3) and follow.based_on_version == back.version
    with pytest.raises(DraftConflict):
        draft_save(step=STEP, text=_edited(day3, subject="A subject to regret!"), base_revision=draft.revision)


def test_the_diff_shows_each_changed_field(day3: EmailCopy) -> None:
    new = _edited(day3, subject="Day 3: new", body=day3.body + "\nOne more line.\n")

    diffs = {d.name: d for d in copy_diff(text_of(day3), new)}

    assert not diffs["preheader"].changed and diffs["subject"].changed and diffs["body"].changed
    assert [(line.kind, line.text) for line in diffs["subject"].lines] == [("removed", day3.subject),
                                                                         ("added", "Day 3: new")]
    assert ("added", "One more line.") in [(line.kind, line.text) for line in diffs["body"].lines]
    assert "+ One more line." in diff_text(list(diffs.values()))

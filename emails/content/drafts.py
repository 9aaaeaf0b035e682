"""Writes behind the copy editor: saving a draft, publishing it, rolling back, and drafts written by an import.

A draft is saved as typed, valid or not, so nothing typed is lost when a check fails; only publishing validates.
Two editors cannot overwrite each other without seeing it: every save names the draft revision it started from,
and a save that names an older one is refused with the draft as the other person left it (`DraftConflict`).
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from emails.content.checks import copy_problems
from emails.content.models import EmailCopy, EmailDraft
from emails.content.services import copy_publish
from emails.content.text import CopyText, text_of


class DraftConflict(Exception):
    """Someone saved the draft after this editor loaded it; `draft` is their version, to be shown."""

    def __init__(self, draft: EmailDraft) -> None:
        super().__init__(f"the draft of {draft.step} changed (now revision {draft.revision})")
        self.draft = draft


class CopyInvalid(Exception):
    """The copy fails the checks; `problems` maps a field to its messages (emails.content.checks)."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in problems.items()))
        self.problems = problems


def _locked_draft(step: str) -> EmailDraft:
    """The step's draft under a row lock, created (as a copy of the published version) when there is none."""
    draft = EmailDraft.objects.select_for_update().filter(step=step).first()
    if draft is not None:
        return draft
    published = EmailCopy.objects.newest(step)
    try:
        with transaction.atomic():  # a savepoint: losing the race to create it is not an error
            text = text_of(published) if published else CopyText("", "", "")
            EmailDraft.objects.create(step=step, subject=text.subject, preheader=text.preheader, body=text.body,
                                      allow_external_links=text.allow_external_links,
                                      based_on_version=published.version if published else 0, revision=0)
    except IntegrityError:
        pass
    return EmailDraft.objects.select_for_update().get(step=step)


def _write(draft: EmailDraft, text: CopyText, user: Any, **extra: Any) -> EmailDraft:
    draft.subject, draft.preheader, draft.body = text.subject, text.preheader, text.body
    draft.allow_external_links = text.allow_external_links
    draft.revision += 1
    draft.updated_by = user if getattr(user, "pk", None) else None
    draft.updated_at = timezone.now()
    for name, value in extra.items():
        setattr(draft, name, value)
    draft.save(update_fields=["subject", "preheader", "body", "allow_external_links", "revision", "updated_by",
                              "updated_at", *extra])
    return draft


@transaction.atomic
def draft_save(*, step: str, text: CopyText, base_revision: int, user: Any = None) -> EmailDraft:
    """Store `text` as the draft of `step`, whatever the checks say (saving changes nothing sent).

    `base_revision` is the draft revision the editor loaded. Saving what is already stored is a no-op (pressing
    "publish" on an unchanged page must not refuse the next person); otherwise a stale revision raises
    DraftConflict and stores nothing.
    """
    draft = _locked_draft(step)
    if text_of(draft) == text:
        return draft
    if draft.revision != base_revision:
        raise DraftConflict(draft)
    return _write(draft, text, user)


@transaction.atomic
def draft_publish(*, step: str, revision: int, user: Any = None, note: str = "") -> EmailCopy:
    """Publish the stored draft (at `revision`, the one the editor saw) as the next version of `step`.

    Raises DraftConflict if the draft moved on, CopyInvalid if it fails the checks; either way nothing changes
    and the draft stays as saved.
    """
    draft = _locked_draft(step)
    if draft.revision != revision:
        raise DraftConflict(draft)
    text = text_of(draft)
    problems = copy_problems(step, text)
    if problems:
        raise CopyInvalid(problems)
    version = copy_publish(step=step, text=text, origin=EmailCopy.Origin.EDITOR, user=user, note=note)
    draft.based_on_version = version.version
    draft.save(update_fields=["based_on_version"])
    return version


def _draft_follows(step: str, before: EmailCopy | None, after: EmailCopy, user: Any) -> None:
    """After a publish from outside the editor (rollback, import), a draft without unpublished changes moves to
    the new version: its revision changes, so an editor still open on the old text is refused, not silently
    publishing the old text back. A draft with unpublished work is left alone; the editor says it is behind."""
    draft = EmailDraft.objects.select_for_update().filter(step=step).first()
    if draft is None or before is None or text_of(draft) != text_of(before):
        return
    _write(draft, text_of(after), user, based_on_version=after.version)


@transaction.atomic
def copy_rollback(*, step: str, version: int, user: Any = None) -> EmailCopy:
    """Publish a copy of an earlier `version` of `step` as its newest version (history only grows).

    The old text is checked again (a rule may have tightened since); CopyInvalid if it fails now.
    """
    old = EmailCopy.objects.get(step=step, version=version)
    before = EmailCopy.objects.newest(step)
    text = text_of(old)
    problems = copy_problems(step, text)
    if problems:
        raise CopyInvalid(problems)
    new = copy_publish(step=step, text=text, origin=EmailCopy.Origin.ROLLBACK, user=user,
                       note=f"Rolled back to version {version}")
    _draft_follows(step, before, new, user)
    return new


@transaction.atomic
def copy_import_publish(*, step: str, text: CopyText, user: Any = None, note: str = "") -> EmailCopy | None:
    """content_import --publish for one step: a new version, unless the text is what is published already."""
    before = EmailCopy.objects.newest(step)
    if before is not None and text_of(before) == text:
        return None
    new = copy_publish(step=step, text=text, origin=EmailCopy.Origin.IMPORT, user=user, note=note)
    _draft_follows(step, before, new, user)
    return new


@transaction.atomic
def draft_import(*, step: str, text: CopyText, user: Any = None) -> EmailDraft | None:
    """content_import without --publish: the file becomes the step's draft (a deliberate replacement, so no
    revision check; the revision still moves, so an editor open on the step is refused and shown it). None when
    the draft already holds this text."""
    draft = _locked_draft(step)
    if text_of(draft) == text:
        return None
    return _write(draft, text, user)

"""content_export / content_import: a lossless round trip, and an import that checks every file before it changes
anything."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from emails.content.models import EmailCopy, EmailDraft
from emails.content.services import copy_publish
from emails.content.text import CopyText, text_of
from tests.editor.conftest import BODY, STEP, published

pytestmark = [pytest.mark.django_db]


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.md"))}


def _export(directory: Path) -> dict[str, bytes]:
    call_command("content_export", str(directory), stdout=io.StringIO())
    return _files(directory)


def _state() -> list[tuple[str, int, str]]:
    return list(EmailCopy.objects.order_by("step", "version").values_list("step", "version", "subject")) + list(
        EmailDraft.objects.order_by("step").values_list("step", "revision", "subject"))


@pytest.fixture
def awkward(db: None) -> EmailCopy:
    """Copy that a careless format would not round-trip: quotes, a colon, padding, CRLF, no final newline."""
    published()
    return copy_publish(step="day-2", origin=EmailCopy.Origin.EDITOR, text=CopyText(
        subject='"Quoted": day 2 — ünïcode ', preheader="", body=BODY + "Windows line\r\nand no final newline"))


def test_export_import_export_is_byte_identical(awkward: EmailCopy, tmp_path: Path) -> None:
    first = _export(tmp_path / "one")
    assert "day-2.md" in first and f"{STEP}.md" in first

    call_command("content_import", str(tmp_path / "one"), "--publish", stdout=io.StringIO())
    second = _export(tmp_path / "two")

    assert second == first
    # Unchanged files publish nothing: importing what is there is not a new version.
    assert EmailCopy.objects.filter(step="day-2").order_by("-version").first() == awkward


def test_an_edited_file_is_published_with_import_as_origin(day3: EmailCopy, tmp_path: Path) -> None:
    files = _export(tmp_path)
    edited = files[f"{STEP}.md"].replace(day3.subject.encode(), b"Day 3, reviewed in a pull request", 1)
    (tmp_path / f"{STEP}.md").write_bytes(edited)

    call_command("content_import", str(tmp_path), "--publish", stdout=io.StringIO())

    newest = EmailCopy.objects.filter(step=STEP).order_by("-version").first()
    assert newest and newest.version == day3.version + 1 and newest.origin == "import"
    assert newest.subject == "Day 3, reviewed in a pull request" and newest.body == day3.body


def test_without_publish_an_import_writes_drafts_and_sends_nothing_new(day3: EmailCopy, tmp_path: Path) -> None:
    _export(tmp_path)
    path = tmp_path / f"{STEP}.md"
    path.write_bytes(path.read_bytes() + b"\nA line from the review.\n")

    call_command("content_import", str(tmp_path), stdout=io.StringIO())

    assert EmailCopy.objects.filter(step=STEP).order_by("-version").first() == day3
    draft = EmailDraft.objects.get(step=STEP)
    assert draft.body == day3.body + "\nA line from the review.\n" and draft.revision >= 1


@pytest.mark.parametrize("breakage", ["unknown merge field", "broken front matter", "wrong name", "unknown step"])
def test_one_bad_file_changes_nothing(awkward: EmailCopy, tmp_path: Path, breakage: str) -> None:
    _export(tmp_path)
    good = tmp_path / f"{STEP}.md"
    good.write_bytes(good.read_bytes().replace(b"Day {{ day_number }}", b"Day {{ day_number }}!", 1) + b"\nNew.\n")
    bad = tmp_path / "day-2.md"
    if breakage == "unknown merge field":
        bad.write_bytes(bad.read_bytes() + b"\nHello {{ frist_name }}\n")
    elif breakage == "broken front matter":
        bad.write_bytes(bad.read_bytes().replace(b"subject:", b"subjekt:", 1))
    elif breakage == "wrong name":
        bad.rename(tmp_path / "day-9.md")
    else:
        (tmp_path / "day-9.md").write_bytes(bad.read_bytes().replace(b"step: day-2", b"step: day-9", 1))
    before = _state()

    for publish in ([], ["--publish"]):
        with pytest.raises(CommandError) as refused:
            call_command("content_import", str(tmp_path), *publish, stdout=io.StringIO())
        assert "Nothing imported" in str(refused.value)
        assert ("day-2.md" if breakage in ("unknown merge field", "broken front matter") else "day-9.md") \
            in str(refused.value)

    assert _state() == before


def test_the_export_reads_like_the_shipped_files(day3: EmailCopy, tmp_path: Path) -> None:
    exported = _export(tmp_path)[f"{STEP}.md"].decode()
    assert exported.startswith(f"---\nstep: {STEP}\nsubject: ")
    assert exported.endswith(day3.body) and text_of(day3).body in exported


def test_the_shipped_copy_exports_as_the_files_it_came_from(db: None, tmp_path: Path) -> None:
    from emails.content.loading import FILES_DIR, shipped_copy_load

    shipped_copy_load()
    exported = _export(tmp_path)

    # Byte for byte the repository's files: a team can export from production and diff against git.
    assert exported == _files(FILES_DIR)
    call_command("content_import", str(tmp_path), "--publish", stdout=io.StringIO())
    assert _export(tmp_path / "again") == exported

"""The copy file format round-trips byte for byte, and the shipped files load as versions without ever replacing
an editor's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emails.content.loading import CopyFileError, format_copy_file, parse_copy_file, shipped_copy, shipped_copy_load
from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText


@given(step=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), subject=st.text(max_size=80),
       preheader=st.text(max_size=80), body=st.text(max_size=400), allow=st.booleans())
def test_format_then_parse_gives_back_the_same_copy(step: str, subject: str, preheader: str, body: str,
                                                    allow: bool) -> None:
    text = CopyText(subject=subject, preheader=preheader, body=body, allow_external_links=allow)
    written = format_copy_file(step, text)
    assert parse_copy_file(written) == (step, text)
    assert format_copy_file(*parse_copy_file(written)) == written


def test_every_shipped_file_is_already_in_the_written_form() -> None:
    from emails.content.loading import FILES_DIR

    for path in FILES_DIR.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert format_copy_file(*parse_copy_file(text)) == text, path.name


def test_a_plain_file_reads_as_written() -> None:
    step, text = parse_copy_file("---\nstep: day-3\nsubject: Day 3: the hip\npreheader: \"\"\n"
                                 "allow_external_links: true\n---\n# Hello\n")
    assert step == "day-3"
    assert text == CopyText(subject="Day 3: the hip", preheader="", body="# Hello\n", allow_external_links=True)


@pytest.mark.parametrize(("text", "says"), [
    ("# no front matter\n", "starts with a '---' line"),
    ("---\nstep: x\nsubject: s\npreheader: p\nallow_external_links: false\n# body", "not closed"),
    ("---\nstep: x\nsubject: s\nallow_external_links: false\n---\n", "lacks preheader"),
    ("---\nstep: x\nsubject: s\npreheader: p\nallow_external_links: maybe\n---\n", "true or false"),
    ("---\nstep: x\ntitle: s\npreheader: p\nallow_external_links: false\n---\n", "line 3"),
    ("---\nstep: x\nsubject: \"unclosed\npreheader: p\nallow_external_links: false\n---\n", "JSON string"),
])
def test_a_broken_file_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(CopyFileError, match=says):
        parse_copy_file(text)


@pytest.mark.django_db
def test_a_changed_shipped_file_adds_a_version_unless_an_editor_published_since(
        monkeypatch: pytest.MonkeyPatch) -> None:
    files = shipped_copy()
    day2 = files["day-2"]
    changed = CopyText(subject="Day 2: a new shipped subject", preheader=day2.preheader, body=day2.body)
    monkeypatch.setattr("emails.content.loading.shipped_copy", lambda: {**files, "day-2": changed})
    assert shipped_copy_load() == ["day-2"]
    latest = EmailCopy.objects.filter(step="day-2").order_by("-version").first()
    assert latest is not None and (latest.version, latest.origin, latest.subject) == (
        2, EmailCopy.Origin.SHIPPED, "Day 2: a new shipped subject")

    edited = copy_publish(step="day-2", text=CopyText(subject="The editor's subject", preheader="", body="# Hi\n"),
                          origin=EmailCopy.Origin.EDITOR)
    again = CopyText(subject="Day 2: yet another shipped subject", preheader="", body=day2.body)
    monkeypatch.setattr("emails.content.loading.shipped_copy", lambda: {**files, "day-2": again})
    assert shipped_copy_load() == []
    assert EmailCopy.objects.filter(step="day-2").order_by("-version").first() == edited

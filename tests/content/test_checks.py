"""What copy_problems tells a marketer: unknown merge fields, broken tags and links, links to other sites, HTML,
an empty subject, an email too large for Gmail."""

from typing import Any

import pytest

from emails.content.checks import copy_problems
from emails.content.loading import shipped_copy
from emails.content.text import CopyText

GOOD_BODY = "# Hello{{ if first_name }}, {{ first_name }}{{ end }}\n\n[Start](link:upgrade){.button}\n"


def _problems(body: str = GOOD_BODY, subject: str = "Subject", preheader: str = "", allow: bool = False,
              ) -> dict[str, list[str]]:
    return copy_problems("day-3", CopyText(subject=subject, preheader=preheader, body=body,
                                           allow_external_links=allow))


def test_every_shipped_file_is_valid() -> None:
    for step, text in shipped_copy().items():
        assert copy_problems(step, text) == {}, step


def test_good_copy_has_no_problems() -> None:
    assert _problems() == {}


@pytest.mark.parametrize(("field", "kwargs", "says"), [
    ("subject", {"subject": "  "}, "The subject is empty."),
    ("subject", {"subject": "Hi {{ frist_name }}"}, "unknown merge field {{ frist_name }}"),
    ("preheader", {"preheader": "{{ if buyer }}only buyers"}, "without its {{ end }}"),
    ("body", {"body": "Hello {{ name }}\n"}, "unknown merge field {{ name }}"),
    ("body", {"body": "{{ end }}\n"}, "{{ end }} without {{ if }}"),
    ("body", {"body": "{{ if rich }}x{{ end }}\n"}, "unknown condition"),
    ("body", {"body": "[Buy](link:upgarde)\n"}, "Unknown link link:upgarde"),
    ("body", {"body": "Read [this](https://elsewhere.example/page)\n"}, "goes to another site"),
    ("body", {"body": "Write <b>bold</b>\n"}, "HTML such as '<b>'"),
    ("body", {"body": "Broken [link](link:upgrade\n"}, "A link is malformed"),
    ("body", {"body": "A tag {{ first_name\n"}, "not closed"),
    ("body", {"body": "Big " * 30_000 + "\n"}, "keep it under 100 KB"),
    ("body", {"body": "  \n"}, "The body is empty."),
])
def test_each_problem_is_named_next_to_its_field(field: str, kwargs: dict[str, Any], says: str) -> None:
    problems = _problems(**kwargs)
    assert any(says in message for message in problems.get(field, [])), problems


def test_a_link_to_another_site_is_fine_once_ticked() -> None:
    assert _problems(body="Read [this](https://elsewhere.example/page)\n", allow=True) == {}


def test_a_link_to_our_own_site_needs_no_tick(settings: pytest.FixtureRequest) -> None:
    assert _problems(body="See [the guide](https://testserver/guide/)\n".replace(
        "https://testserver", settings.SITE_URL)) == {}  # type: ignore[attr-defined]

"""The shipped copy (emails/content/files) sends exactly what the templates it replaced sent.

tests/content/snapshots/ holds every email (subject, text and HTML parts) as the template renderer made it for
fixed readers at a fixed instant, taken before the copy became data (cases.py says how). Each email rendered now
from the shipped copy, loaded on migrate, must match it byte for byte, whichever path renders it: the per-step
render cache the dispatcher uses, or a full render. The follow-up emails (follow-up-1 to -3) came after: their
snapshots were taken from their first shipped files, so a change to the renderer shows in them too.
"""

import pytest

from emails.content import current
from emails.content.loading import shipped_copy, shipped_copy_load
from emails.content.models import EmailCopy
from emails.rendering import render_email
from tests.content import cases

pytestmark = pytest.mark.django_db

ALL = cases.cases()


@pytest.fixture(autouse=True)
def _fresh_copy_cache() -> None:
    current.forget()


def test_every_step_has_a_shipped_file() -> None:
    assert sorted(shipped_copy()) == sorted({case.step for case in ALL})


def test_migrate_loaded_every_shipped_file_as_its_first_version() -> None:
    loaded = {c.step: c for c in EmailCopy.objects.filter(origin=EmailCopy.Origin.SHIPPED)}
    assert sorted(loaded) == sorted(shipped_copy())
    assert shipped_copy_load() == []  # loading again changes nothing


@pytest.mark.parametrize("reuse_step_render", [True, False], ids=["step-cache", "full-render"])
@pytest.mark.parametrize("case", ALL, ids=[case.name for case in ALL])
def test_shipped_copy_renders_as_the_snapshot(case: cases.Case, reuse_step_render: bool) -> None:
    with cases.fixed_world():
        lead, row = cases.make_case(case)
        rendered = render_email(lead, row, reuse_step_render=reuse_step_render)
    assert rendered.subject + "\n" == cases.snapshot_path(case, "subject.txt").read_text()
    assert rendered.text == cases.snapshot_path(case, "txt").read_text()
    assert rendered.html == cases.snapshot_path(case, "html").read_text()

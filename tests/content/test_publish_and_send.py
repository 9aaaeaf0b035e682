"""Publishing copy changes what the real dispatcher sends next, and nothing already sent; rows record what they
were rendered from, and a reader keeps their experiment arm."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from emails.content.current import published_copy
from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import text_of
from emails.dispatch import dispatch_batch
from emails.experiments.assign import bucket, pick
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from emails.preview import render_email_preview
from emails.rendering import render_email
from leads.models import Lead

pytestmark = pytest.mark.django_db
NEW_SUBJECT = "Day 3: one small muscle, deep in the hip"


def _sent(lead: Lead) -> list[Any]:
    return [m for m in mail.outbox if m.to == [lead.email]]


def _publish_day3(subject: str = NEW_SUBJECT, extra: str = "") -> EmailCopy:
    shipped = text_of(published_copy("day-3"))
    body = shipped.body.replace("## One mistake to avoid today", f"{extra}## One mistake to avoid today")
    text = type(shipped)(subject=subject, preheader=shipped.preheader, body=body)
    return copy_publish(step="day-3", text=text, origin=EmailCopy.Origin.EDITOR)


def test_a_published_edit_changes_the_next_email_and_nothing_already_sent(reader: Callable[..., Lead],
                                                                          due_row: Any) -> None:
    early, late = reader(), reader()
    first = due_row(early, "day-3")
    dispatch_batch()
    (before,) = _sent(early)
    shipped_version = published_copy("day-3").version
    first.refresh_from_db()
    assert (first.status, first.copy_version) == (ScheduledEmail.Status.SENT, shipped_version)

    edit = _publish_day3(extra="Today's extra tip: breathe out slowly while you hold.\n\n")
    second = due_row(late, "day-3")
    dispatch_batch()

    (after,) = _sent(late)
    assert after.subject == NEW_SUBJECT
    assert "Today's extra tip: breathe out slowly while you hold." in after.body
    assert "Today's extra tip" in after.alternatives[0][0]
    second.refresh_from_db()
    assert second.copy_version == edit.version == shipped_version + 1
    # What was sent stays as it was: the earlier reader got one email, with the shipped subject and version.
    assert [m.subject for m in _sent(early)] == [before.subject] != [NEW_SUBJECT]
    first.refresh_from_db()
    assert first.copy_version == shipped_version


def test_the_dispatcher_reads_the_copy_once_per_batch_not_per_row(reader: Callable[..., Lead], due_row: Any) -> None:
    for _ in range(3):
        due_row(reader(), "day-2")
    dispatch_batch()  # warm: the copy is loaded once in this process
    for _ in range(3):
        due_row(reader(), "day-2")
    with CaptureQueriesContext(connection) as small:
        dispatch_batch()
    for _ in range(12):
        due_row(reader(), "day-2")
    with CaptureQueriesContext(connection) as large:
        dispatch_batch()
    copy_queries = [q["sql"] for q in large.captured_queries if "emails_emailcopy" in q["sql"]]
    assert len(copy_queries) == 1  # the fingerprint; no reload when nothing changed
    assert len(large.captured_queries) == len(small.captured_queries)


def test_preview_and_render_with_given_copy_use_it_and_leave_the_published(reader: Callable[..., Lead],
                                                                           due_row: Any) -> None:
    lead = reader(first_name="Ana")
    row = due_row(lead, "welcome")
    draft = text_of(published_copy("welcome"))
    draft = type(draft)(subject="Hello{{ if first_name }} {{ first_name }}{{ end }}", preheader="p",
                        body="# Draft\n\n[Open](link:free_guide){.button}\n")
    preview = render_email_preview(lead, row, copy=draft)
    assert preview.subject == "Hello Ana"
    assert "PREVIEW_LINK_DISABLED" in preview.html and "Open: " in preview.text
    assert render_email(lead, row).subject.startswith("Welcome, Ana")


def _experiment(scope: str) -> Experiment:
    experiment = Experiment.objects.create(step="day-3", name="subject test", scope=scope)
    Variant.objects.create(experiment=experiment, label="A", subject="Arm A subject", body="# Arm A body\n")
    Variant.objects.create(experiment=experiment, label="B", subject="Arm B subject", body="# Arm B body\n")
    return experiment


@pytest.mark.parametrize("scope", [Experiment.Scope.SUBJECT, Experiment.Scope.WHOLE])
def test_each_reader_gets_their_arm_recorded_and_kept_on_retry(reader: Callable[..., Lead], due_row: Any,
                                                              scope: str) -> None:
    experiment = _experiment(scope)
    variants = list(experiment.variants.all())
    leads = [reader() for _ in range(6)]
    rows = [due_row(lead, "day-3") for lead in leads]
    dispatch_batch()
    for lead, row in zip(leads, rows, strict=True):
        row.refresh_from_db()
        arm = pick(variants, bucket(experiment.pk, lead.pk))
        assert row.variant_id == arm.pk
        (message,) = _sent(lead)
        assert message.subject == f"Arm {arm.label} subject"
        whole = "Arm " + arm.label + " body" in message.body
        assert whole == (scope == Experiment.Scope.WHOLE)

    # A retry renders the recorded arm even when the split would now say otherwise.
    row = rows[0]
    other = Variant.objects.exclude(pk=row.variant_id).get(experiment__step="day-3")
    ScheduledEmail.objects.filter(pk=row.pk).update(variant=other)
    row.refresh_from_db()
    assert render_email(row.lead, row).subject == f"Arm {other.label} subject"

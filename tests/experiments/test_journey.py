"""The issue's "done when", walked as a marketer would, with no deploy: change day 3's subject in the editor, A/B test
it against another subject in the admin, let the real dispatcher send day 3 to 500 readers, credit the purchases
that came through each arm's signed link, read the experiment's page, promote the winner, and see the next reader
get the winning subject while nothing already sent changes."""

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from emails.content.current import published_copy
from emails.content.models import EmailCopy
from emails.content.text import text_of
from emails.dispatch import dispatch_batch
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from tests.editor.conftest import form_data
from tests.experiments.conftest import STEP, login, make_lead, purchase

pytestmark = [pytest.mark.django_db]

EDITED = "Day 3: the hip muscle that can send pain into your back"
CHALLENGER = "Day 3: ten minutes for your hips"
READERS = 500


def _due_day3(n: int) -> list[ScheduledEmail]:
    now = timezone.now()
    return ScheduledEmail.objects.bulk_create([
        ScheduledEmail(lead=make_lead(f"Reader{i}"), step=STEP, send_at=now, stream=ScheduledEmail.Stream.MARKETING)
        for i in range(n)])


def _dispatch_all() -> None:
    while dispatch_batch(size=200).counts():
        pass


def test_a_marketer_edits_tests_and_promotes_a_subject_without_a_deploy(boss: User, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = login(boss)
    shipped = published_copy(STEP)

    # 1. The editor: a new subject, published.
    edit = reverse("admin:emails_copy_edit", args=[STEP])
    published = client.post(edit, form_data(replace(text_of(shipped), subject=EDITED), 0, action="publish"))
    assert published.status_code == 302, published.content.decode()[:1000]
    assert published_copy(STEP).subject == EDITED

    # 2. The experiment: the edit against a challenger, half the readers each.
    started = client.post(reverse("admin:emails_experiment_add"), {
        "name": "Day 3 subject", "step": STEP, "scope": "subject",
        "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "2",
        "variants-MAX_NUM_FORMS": "4",
        "variants-0-subject": EDITED, "variants-0-weight": "1", "variants-0-preheader": "", "variants-0-body": "",
        "variants-1-subject": CHALLENGER, "variants-1-weight": "1", "variants-1-preheader": "",
        "variants-1-body": ""})
    assert started.status_code == 302, started.content.decode()[:1000]
    experiment = Experiment.objects.get(status=Experiment.Status.RUNNING)

    # 3. The real dispatcher sends day 3: each reader's arm is recorded on their row and decides the subject.
    rows = _due_day3(READERS)
    _dispatch_all()
    sent = {m.to[0]: m.subject for m in mail.outbox}
    assert len(sent) == READERS
    arms: dict[str, Variant] = {}
    for row in ScheduledEmail.objects.filter(step=STEP).select_related("lead", "variant"):
        assert row.variant is not None and row.lead.email, f"{row} has no arm"
        arms[row.lead.email] = row.variant
    assert all(sent[email] == variant.subject for email, variant in arms.items())
    per_arm = Counter(variant.label for variant in arms.values())
    # A - B = 2A - n has a standard deviation of sqrt(n) under a fair 50/50 split: within 4 of them.
    assert abs(per_arm["A"] - per_arm["B"]) < 4 * READERS ** 0.5

    # 4. Purchases credited through each arm's signed link: the challenger sells three times as often.
    sold = {"A": 0, "B": 0}
    for row in ScheduledEmail.objects.filter(pk__in=[r.pk for r in rows]).select_related("variant", "lead"):
        assert row.variant is not None
        label = row.variant.label
        wanted = per_arm[label] // (20 if label == "A" else 6)
        if sold[label] < wanted:
            purchase(row, row.lead)
            sold[label] += 1

    # 5. The experiment's page decides on purchases per recipient, names B and shows the opens caveat.
    page = client.get(reverse("admin-experiment", args=[experiment.pk])).content.decode()
    assert CHALLENGER in page and "Promote B" in page
    assert "B (best)" in page and "A (best)" not in page
    assert "Apple Mail" in page

    # 6. Promote: a new published version with B's subject and the edited body; the experiment ends.
    promoted = client.post(reverse("admin-experiment-promote", args=[experiment.pk]),
                           {"variant": experiment.variants.get(label="B").pk}, follow=True)
    assert promoted.status_code == 200
    latest = published_copy(STEP)
    assert (latest.subject, latest.origin, latest.body) == (CHALLENGER, EmailCopy.Origin.EXPERIMENT, shipped.body)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.ENDED
    assert experiment.winner is not None and experiment.winner.label == "B"

    # 7. The next reader gets the winner, with no arm; what was sent before is as it was.
    mail.outbox.clear()
    (late,) = _due_day3(1)
    _dispatch_all()
    assert [m.subject for m in mail.outbox] == [CHALLENGER]
    late.refresh_from_db()
    assert late.variant is None and late.copy_version == latest.version
    assert ScheduledEmail.objects.filter(pk__in=[r.pk for r in rows], status=ScheduledEmail.Status.SENT).count() \
        == READERS

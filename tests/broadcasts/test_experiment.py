"""An A/B subject test of a broadcast, through the existing experiment machinery: each reader gets one arm,
recorded on their row, and the experiment's results page counts the broadcast's emails per arm."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail

from emails.experiments.models import Experiment
from emails.experiments.services import VariantSpec, experiment_start, experiment_steps
from emails.models import ScheduledEmail
from tests.drip.conftest import run_dispatcher

from .conftest import broadcast_through_admin, client_for, segment_through_admin, send, shown_count

pytestmark = pytest.mark.django_db

BODY = "Hello{{ if first_name }}, {{ first_name }}{{ end }}.\n\n[Get the full guide for $9.97](link:upgrade){.button}\n"


def test_a_subject_test_splits_the_broadcasts_readers_and_reports_per_arm(sender: Any, make_lead: Any) -> None:
    for _ in range(40):
        make_lead()
    segment = segment_through_admin(sender, "Everyone", [{"kind": "status", "option": "subscribed"}])
    broadcast = broadcast_through_admin(sender, "Price note", segment, subject="Price note", body=BODY)
    assert broadcast.step in experiment_steps()  # offered while it is a draft
    experiment = experiment_start(step=broadcast.step, name="Subject", scope=Experiment.Scope.SUBJECT,
                                  variants=[VariantSpec(subject="The price changes on Friday"),
                                            VariantSpec(subject="Friday: a new price")])
    assert send(sender, broadcast, shown_count(sender, broadcast)).status_code == 302
    run_dispatcher()

    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 40 and set(subjects) == {"The price changes on Friday", "Friday: a new price"}
    rows = ScheduledEmail.objects.filter(step=broadcast.step).select_related("variant")
    assert {row.variant.subject for row in rows if row.variant} == set(subjects) and all(r.variant for r in rows)
    assert broadcast.step not in experiment_steps()  # sent: no new test on it

    admin = client_for(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = admin.get(f"/admin/dashboard/experiments/{experiment.pk}/")
    assert page.status_code == 200
    assert sum(row["arm"].sent for row in page.context["rows"]) == 40

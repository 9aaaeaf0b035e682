"""The experiment's admin pages, its results page and the Promote button, and who may use which."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from emails.content.models import EmailCopy
from emails.experiments.models import Experiment
from tests.experiments.conftest import STEP, login, make_experiment, make_lead, purchase, sent_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(day3: EmailCopy) -> Experiment:
    experiment = make_experiment(["Your neck, day 3", "Day 3: ten minutes"])
    a, b = experiment.variants.order_by("label")
    for n in range(3):
        sent_row(make_lead(f"a{n}"), a)
    row = sent_row(make_lead("b0"), b)
    purchase(row, row.lead)
    return experiment


def _cells(html: str, label: str) -> list[str]:
    row = re.search(rf'<tr data-variant="{label}">(.*?)</tr>', html, re.S)
    assert row, f"no row for variant {label}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1),
                                                                           re.S)]


def test_the_results_page_shows_each_variant_and_the_rule(running: Experiment, boss: User) -> None:
    response = login(boss).get(reverse("admin-experiment", args=[running.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    # Variant, subject, share, sent, human clicks, upgrade clicks, purchases, gross, net, per recipient, P(best),
    # interval, opens, and the Promote button.
    a, b = _cells(html, "A"), _cells(html, "B")
    assert a[:10] == ["A", "Your neck, day 3", "1", "3", "0 (0.0%)", "0 (0.0%)", "0 (0.0%)", "$0.00", "$0.00",
                      "$0.00"]
    assert b[:10] == ["B", "Day 3: ten minutes", "1", "1", "0 (0.0%)", "0 (0.0%)", "1 (100.0%)", "$9.97", "$9.97",
                      "$9.97"]
    assert b[-1] == "Promote B"
    assert "Too little data to name a winner yet." in html
    assert "every variant was sent to at least" in html and "Apple Mail" in html and "never used to decide" in html


def test_the_experiment_is_linked_from_the_dashboard_and_its_admin_page(running: Experiment, boss: User) -> None:
    client = login(boss)
    url = reverse("admin-experiment", args=[running.pk])
    assert url.encode() in client.get(reverse("admin-dashboard")).content
    assert url.encode() in client.get(reverse("admin:emails_experiment_change", args=[running.pk])).content
    assert url.encode() in client.get(reverse("admin:emails_experiment_changelist")).content


def test_promote_publishes_the_winning_subject(running: Experiment, boss: User) -> None:
    client = login(boss)
    winner = running.variants.get(label="B")
    response = client.post(reverse("admin-experiment-promote", args=[running.pk]), {"variant": winner.pk},
                           follow=True)
    assert "Variant B promoted" in response.content.decode()
    latest = EmailCopy.objects.filter(step=STEP).order_by("-version").first()
    assert latest is not None and latest.subject == "Day 3: ten minutes"
    assert latest.origin == EmailCopy.Origin.EXPERIMENT and latest.created_by == boss
    running.refresh_from_db()
    assert running.status == Experiment.Status.ENDED and running.winner == winner
    assert b"Promote B" not in response.content  # nothing left to promote


def test_the_marketing_group_can_view_but_not_promote(running: Experiment, marketer: User) -> None:
    client = login(marketer)
    page = client.get(reverse("admin-experiment", args=[running.pk]))
    assert page.status_code == 200 and b"Day 3: ten minutes" in page.content
    assert b"Promote" not in page.content
    versions = EmailCopy.objects.count()
    refused = client.post(reverse("admin-experiment-promote", args=[running.pk]),
                          {"variant": running.variants.get(label="B").pk})
    assert refused.status_code == 403
    assert EmailCopy.objects.count() == versions
    running.refresh_from_db()
    assert running.status == Experiment.Status.RUNNING and running.winner is None
    # Nor can it start one or end one in the admin.
    assert client.get(reverse("admin:emails_experiment_add")).status_code == 403
    client.post(reverse("admin:emails_experiment_changelist"),
                {"action": "end_experiments", "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.status == Experiment.Status.RUNNING


def test_promote_is_a_post(running: Experiment, boss: User) -> None:
    response = login(boss).get(reverse("admin-experiment-promote", args=[running.pk]))
    assert response.status_code == 405


def _add_form(subjects: list[str], weights: list[int] | None = None, scope: str = "subject") -> dict[str, object]:
    data: dict[str, object] = {"name": "Day 3 subject", "step": STEP, "scope": scope,
                               "variants-TOTAL_FORMS": str(len(subjects)), "variants-INITIAL_FORMS": "0",
                               "variants-MIN_NUM_FORMS": "2", "variants-MAX_NUM_FORMS": "4"}
    for n, (subject, weight) in enumerate(zip(subjects, weights or [1] * len(subjects), strict=True)):
        data |= {f"variants-{n}-subject": subject, f"variants-{n}-weight": str(weight),
                 f"variants-{n}-preheader": "", f"variants-{n}-body": ""}
    return data


def test_starting_an_experiment_in_the_admin(day3: EmailCopy, boss: User) -> None:
    response = login(boss).post(reverse("admin:emails_experiment_add"),
                                _add_form(["Your neck, day 3", "Day 3: ten minutes"], [7, 3]))
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.get()
    assert experiment.status == Experiment.Status.RUNNING and experiment.created_by == boss
    assert [(v.label, v.subject, v.weight) for v in experiment.variants.all()] == [
        ("A", "Your neck, day 3", 7), ("B", "Day 3: ten minutes", 3)]


def test_the_admin_refuses_bad_variants_next_to_the_field(day3: EmailCopy, boss: User) -> None:
    client = login(boss)
    zero = client.post(reverse("admin:emails_experiment_add"), _add_form(["Fine", "Also fine"], [1, 0]))
    assert zero.status_code == 200 and "The share of readers must be more than 0." in zero.content.decode()
    whole = _add_form(["Fine", "Also fine"], scope="whole") | {"variants-0-body": "Day {{ day_number }}.",
                                                                "variants-1-body": "Hi {{ frist_name }}"}
    bad_body = client.post(reverse("admin:emails_experiment_add"), whole)
    assert bad_body.status_code == 200 and "unknown merge field {{ frist_name }}" in bad_body.content.decode()
    one = client.post(reverse("admin:emails_experiment_add"), _add_form(["Alone"]))
    assert one.status_code == 200 and "An experiment has 2 to 4 variants, not 1." in one.content.decode()
    assert not Experiment.objects.exists()

    make_experiment(["A", "B"])
    busy = client.post(reverse("admin:emails_experiment_add"), _add_form(["C", "D"]))
    assert f"An experiment is already running on {STEP}: end it first." in busy.content.decode()


def test_a_running_experiments_variants_cannot_be_edited(running: Experiment, boss: User) -> None:
    client = login(boss)
    page = client.get(reverse("admin:emails_experiment_change", args=[running.pk]))
    assert page.status_code == 200
    assert b'name="variants-0-subject"' not in page.content  # shown, not editable
    assert b"Your neck, day 3" in page.content


def test_a_running_experiment_can_be_renamed(running: Experiment, boss: User) -> None:
    variants = list(running.variants.values_list("pk", flat=True))
    data: dict[str, object] = {"name": "Day 3: neck or minutes", "variants-TOTAL_FORMS": "2",
                               "variants-INITIAL_FORMS": "2", "variants-MIN_NUM_FORMS": "2",
                               "variants-MAX_NUM_FORMS": "4"}
    data |= {f"variants-{n}-id": str(pk) for n, pk in enumerate(variants)}
    data |= {f"variants-{n}-experiment": str(running.pk) for n in range(2)}
    response = login(boss).post(reverse("admin:emails_experiment_change", args=[running.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    running.refresh_from_db()
    assert running.name == "Day 3: neck or minutes" and running.step == STEP
    assert [v.subject for v in running.variants.all()] == ["Your neck, day 3", "Day 3: ten minutes"]

"""Starting, ending and promoting an experiment: what is refused, and what the winner publishes."""

import pytest
from django.core.exceptions import ValidationError

from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText
from emails.experiments.models import Experiment
from emails.experiments.services import VariantSpec, experiment_end, experiment_promote, experiment_start
from tests.experiments.conftest import BODY, STEP, arm_of

pytestmark = pytest.mark.django_db


def _start(*subjects: str, weights: list[int] | None = None, step: str = STEP) -> Experiment:
    specs = [VariantSpec(subject=s, weight=w) for s, w in zip(subjects, weights or [1] * len(subjects), strict=True)]
    return experiment_start(step=step, name="Day 3 subject", scope="subject", variants=specs)


def _refusal(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return error.value.message_dict


def test_start_labels_the_variants_and_readers_get_them(day3: EmailCopy) -> None:
    experiment = _start("Your neck, day 3", "Day 3: ten minutes", weights=[2, 1])
    assert [(v.label, v.subject, v.weight) for v in experiment.variants.all()] == [
        ("A", "Your neck, day 3", 2), ("B", "Day 3: ten minutes", 1)]
    assert experiment.status == Experiment.Status.RUNNING
    assert arm_of(1) is not None


@pytest.mark.parametrize(("subjects", "weights"), [(["Only one"], [1]), (["A", "B", "C", "D", "E"], [1] * 5)])
def test_an_experiment_has_two_to_four_variants(day3: EmailCopy, subjects: list[str], weights: list[int]) -> None:
    with pytest.raises(ValidationError) as refused:
        _start(*subjects, weights=weights)
    assert _refusal(refused)["variants"] == [f"An experiment has 2 to 4 variants, not {len(subjects)}."]
    assert not Experiment.objects.exists()


def test_every_share_is_above_zero(day3: EmailCopy) -> None:
    with pytest.raises(ValidationError) as refused:
        _start("A", "B", weights=[1, 0])
    assert _refusal(refused) == {"B.weight": ["The share of readers must be more than 0."]}


def test_variant_subjects_get_the_editors_checks(day3: EmailCopy) -> None:
    with pytest.raises(ValidationError) as refused:
        _start("Fine", "Hi {{ frist_name }}", "")
    problems = _refusal(refused)
    assert set(problems) == {"B.subject", "C.subject"}
    assert any("frist_name" in message for message in problems["B.subject"])
    assert problems["C.subject"] == ["The subject is empty."]


def test_variant_copy_gets_the_editors_checks(day3: EmailCopy) -> None:
    with pytest.raises(ValidationError) as refused:
        experiment_start(step=STEP, name="Whole day 3", scope="whole", variants=[
            VariantSpec(subject="Fine", body=BODY), VariantSpec(subject="", body="Hi {{ frist_name }}"),
            VariantSpec(subject="Also fine", body="[Elsewhere](https://example.net/)")])
    problems = _refusal(refused)
    assert set(problems) == {"B.subject", "B.body", "C.body"}
    assert problems["B.subject"] == ["The subject is empty."]
    assert any("frist_name" in message for message in problems["B.body"])
    assert any("example.net" in message or "another" in message for message in problems["C.body"])


def test_one_running_experiment_per_email(day3: EmailCopy) -> None:
    first = _start("A", "B")
    with pytest.raises(ValidationError) as refused:
        _start("C", "D")
    assert _refusal(refused)["step"] == [f"An experiment is already running on {STEP}: end it first."]
    experiment_end(experiment=first)
    assert _start("C", "D").status == Experiment.Status.RUNNING


def test_only_sequence_emails_with_published_copy(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        _start("A", "B", step="signin")
    assert "not on 'signin'" in _refusal(refused)["step"][0]


def test_ending_sends_the_published_copy_again(day3: EmailCopy) -> None:
    experiment = experiment_end(experiment=_start("A", "B"))
    assert experiment.status == Experiment.Status.ENDED and experiment.ended_at is not None
    assert experiment.winner is None
    assert arm_of(1) is None


def test_promoting_a_subject_publishes_the_current_copy_with_the_winners_subject(day3: EmailCopy, boss: object) -> None:
    experiment = _start("Your neck, day 3", "Day 3: ten minutes")
    # An edit published while the test ran is kept: only the subject comes from the winner.
    during = copy_publish(step=STEP, text=CopyText(day3.subject, "A new preheader", BODY), origin="editor")
    winner = experiment.variants.get(label="B")

    copy = experiment_promote(experiment=experiment, variant=winner, user=boss)

    assert (copy.step, copy.version, copy.origin) == (STEP, during.version + 1, EmailCopy.Origin.EXPERIMENT)
    assert (copy.subject, copy.preheader, copy.body) == ("Day 3: ten minutes", "A new preheader", BODY)
    assert copy.created_by == boss and "variant B" in copy.note
    assert EmailCopy.objects.newest(STEP) == copy
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.ENDED and experiment.winner == winner
    assert arm_of(1) is None


def test_promoting_a_whole_email_publishes_all_of_it(day3: EmailCopy) -> None:
    body = "Day {{ day_number }}: the same three steps. [Read the full guide](link:upgrade)\n"
    experiment = experiment_start(step=STEP, name="Whole day 3", scope="whole", variants=[
        VariantSpec(subject=day3.subject, preheader=day3.preheader, body=day3.body),
        VariantSpec(subject="Day 3, shorter", preheader="Short one.", body=body)])
    copy = experiment_promote(experiment=experiment, variant=experiment.variants.get(label="B"))
    assert (copy.subject, copy.preheader, copy.body) == ("Day 3, shorter", "Short one.", body)


def test_a_winner_is_promoted_once(day3: EmailCopy) -> None:
    experiment = _start("A", "B")
    experiment_promote(experiment=experiment, variant=experiment.variants.get(label="A"))
    with pytest.raises(ValidationError, match="already promoted"):
        experiment_promote(experiment=experiment, variant=experiment.variants.get(label="B"))
    assert EmailCopy.objects.filter(step=STEP, origin=EmailCopy.Origin.EXPERIMENT).count() == 1


def test_a_variant_of_another_experiment_is_refused(day3: EmailCopy) -> None:
    first = _start("A", "B")
    experiment_end(experiment=first)
    second = _start("C", "D")
    with pytest.raises(ValidationError, match="another experiment"):
        experiment_promote(experiment=second, variant=first.variants.get(label="A"))
    assert not EmailCopy.objects.filter(origin=EmailCopy.Origin.EXPERIMENT).exists()

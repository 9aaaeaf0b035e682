"""Each reader's arm: deterministic, recorded as the same arm however often it is asked, and the traffic split
within binomial tolerance over 10,000 leads."""

import math

import pytest

from emails.content import current
from emails.experiments.assign import bucket, pick
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from leads.models import Lead
from tests.experiments.conftest import STEP, arm_of, make_experiment

LEADS = range(1, 10_001)


def _split(weights: list[int], experiment_id: int = 7) -> list[int]:
    variants = [Variant(label=label, weight=weight, subject=label) for label, weight in zip("ABCD", weights,
                                                                                             strict=False)]
    counts = dict.fromkeys("ABCD"[: len(weights)], 0)
    for lead_id in LEADS:
        counts[pick(variants, bucket(experiment_id, lead_id)).label] += 1
    return list(counts.values())


def _chi_square(observed: list[int], weights: list[int]) -> float:
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


@pytest.mark.parametrize("weights", [[1, 1], [70, 30], [7, 3]])
def test_a_two_way_split_is_within_four_standard_deviations(weights: list[int]) -> None:
    a, b = _split(weights)
    share = weights[0] / sum(weights)
    sd = math.sqrt(len(LEADS) * share * (1 - share))
    assert a + b == len(LEADS)
    assert abs(a - len(LEADS) * share) < 4 * sd, (a, b)


def test_a_four_way_split_passes_a_chi_square_test() -> None:
    weights = [40, 30, 20, 10]
    # 16.27: the chi-square value with 3 degrees of freedom that a fair split exceeds once in a thousand.
    assert _chi_square(_split(weights), weights) < 16.27


def test_two_experiments_split_the_same_leads_independently() -> None:
    variants = [Variant(label="A", weight=1, subject="A"), Variant(label="B", weight=1, subject="B")]
    both_a = sum(pick(variants, bucket(1, lead)).label == "A" and pick(variants, bucket(2, lead)).label == "A"
                 for lead in LEADS)
    assert abs(both_a - 2500) < 4 * math.sqrt(10_000 * 0.25 * 0.75)


def test_the_bucket_is_spread_evenly_over_the_unit_interval() -> None:
    deciles = [0] * 10
    for lead_id in LEADS:
        point = bucket(3, lead_id)
        assert 0 <= point < 1
        deciles[int(point * 10)] += 1
    assert _chi_square(deciles, [1] * 10) < 27.88  # 9 degrees of freedom, p = 0.001


def test_a_reader_gets_the_same_arm_every_time(day3: object) -> None:
    experiment = make_experiment(["Subject A", "Subject B"], weights=[1, 1])
    first = {lead_id: arm_of(lead_id) for lead_id in range(1, 201)}
    current.forget()  # as another worker process would: nothing it holds decides the arm
    again = {lead_id: arm_of(lead_id) for lead_id in reversed(range(1, 201))}
    assert first == again
    assert {variant.label for variant in first.values() if variant} == {"A", "B"}
    assert all(variant is not None and variant.experiment_id == experiment.pk for variant in first.values())


def test_no_arm_without_a_running_experiment(day3: object) -> None:
    assert arm_of(1) is None
    make_experiment(["A", "B"], status=Experiment.Status.ENDED)
    assert arm_of(1) is None
    make_experiment(["A", "B"], step="day-4")
    assert arm_of(1) is None


def test_the_dispatcher_sends_each_reader_the_arm_of_the_split(day3: object) -> None:
    """The split whose fairness is tested above is the one the dispatcher applies, subject included."""
    experiment = make_experiment(["Subject A", "Subject B", "Subject C"], weights=[5, 3, 2])
    variants = list(experiment.variants.all())
    for lead_id in range(1, 301):
        row = ScheduledEmail(step=STEP, stream=ScheduledEmail.Stream.MARKETING)
        chosen = current.copy_for_row(Lead(pk=lead_id), row)
        expected = pick(variants, bucket(experiment.pk, lead_id))
        assert chosen.variant == expected
        assert chosen.text.subject == expected.subject

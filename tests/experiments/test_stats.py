"""The beta-binomial verdict on known answers: closed forms, symmetry, a clear winner, too little data."""

import math

import pytest

from emails.experiments import stats
from emails.experiments.stats import Posterior, decide, p_best, p_best_by_sampling


def test_the_posterior_of_an_arm_is_beta_one_plus_buyers_one_plus_the_others() -> None:
    assert Posterior.of(purchases=3, recipients=10) == Posterior(alpha=4, beta=8)
    with pytest.raises(ValueError, match="between 0 and recipients"):
        Posterior.of(purchases=11, recipients=10)


def test_p_best_matches_a_closed_form() -> None:
    # X ~ Beta(2, 1) (density 2x), Y ~ Beta(1, 1): P(X > Y) = integral of 2x * x = 2/3.
    assert p_best([Posterior(2, 1), Posterior(1, 1)]) == pytest.approx([2 / 3, 1 / 3], abs=1e-6)


def test_credible_intervals_match_the_exact_quantiles() -> None:
    # No data: Beta(1, 1), uniform. One buyer of one: Beta(2, 1), CDF x^2. No buyer among 100,000: Beta(1, 100001),
    # CDF 1 - (1 - x)^100001, a narrow arm next to two wide ones on the grid they share.
    empty, one, none = decide([("A", 0, 0), ("B", 1, 1), ("C", 0, 100_000)]).arms
    assert (empty.low, empty.high) == pytest.approx((0.025, 0.975), abs=1e-6)
    assert (one.low, one.high) == pytest.approx((math.sqrt(0.025), math.sqrt(0.975)), abs=1e-5)
    assert none.low == pytest.approx(1 - 0.975 ** (1 / 100_001), rel=1e-3)
    assert none.high == pytest.approx(1 - 0.025 ** (1 / 100_001), rel=1e-3)


def test_equal_arms_are_a_coin_toss() -> None:
    verdict = decide([("A", 30, 1000), ("B", 30, 1000)])
    assert [arm.p_best for arm in verdict.arms] == pytest.approx([0.5, 0.5], abs=1e-9)
    assert verdict.enough_data and verdict.winner is None
    assert verdict.summary == "No clear winner yet: no variant is best with 95 % probability."


def test_a_clear_winner_is_named() -> None:
    verdict = decide([("A", 20, 1000), ("B", 50, 1000)])
    a, b = verdict.arms
    assert b.p_best > 0.99 and a.p_best < 0.01
    assert verdict.winner == "B"
    assert verdict.summary == "Variant B is best with 95 % probability or more."
    assert a.rate == 0.02 and a.low < 0.02 < a.high and b.low < 0.05 < b.high
    assert a.high < b.low  # this far apart, the intervals do not overlap


def test_a_big_difference_on_a_tiny_sample_is_too_little_data() -> None:
    verdict = decide([("A", 3, 10), ("B", 0, 10)])
    assert verdict.arms[0].p_best > 0.95  # the model alone would call it...
    assert not verdict.enough_data and verdict.winner is None  # ...the rule does not
    assert verdict.summary == "Too little data to name a winner yet."


def test_enough_data_needs_every_arm_sent_to_the_minimum_and_enough_purchases_in_all() -> None:
    n, p = stats.MIN_RECIPIENTS, stats.MIN_PURCHASES
    assert decide([("A", p, n), ("B", 0, n)]).enough_data
    assert not decide([("A", p, n), ("B", 0, n - 1)]).enough_data
    assert not decide([("A", p - 1, n), ("B", 0, n)]).enough_data


def test_an_arm_nobody_got_yet_has_no_rate_and_the_widest_interval() -> None:
    verdict = decide([("A", 5, 100), ("B", 0, 0)])
    assert verdict.arms[1].rate is None
    assert (verdict.arms[1].low, verdict.arms[1].high) == pytest.approx((0.025, 0.975), abs=1e-6)


@pytest.mark.parametrize("counts", [
    [(10, 200), (14, 200)],
    [(30, 1000), (30, 1000), (1, 10), (0, 100_000)],  # a wide arm next to very narrow ones
    [(5, 300), (9, 300), (7, 300)],
    [(0, 50), (0, 50)],
])
def test_the_integration_agrees_with_plain_sampling(counts: list[tuple[int, int]]) -> None:
    posteriors = [Posterior.of(purchases=p, recipients=n) for p, n in counts]
    integrated = p_best(posteriors)
    assert sum(integrated) == pytest.approx(1.0)
    # 20,000 draws: a standard error of at most 0.0035 per probability.
    assert integrated == pytest.approx(p_best_by_sampling(posteriors, draws=20_000), abs=0.015)

"""Which arm of an experiment sells best: beta-binomial posteriors of purchases per recipient.

Each arm's rate of buying gets a uniform prior, so after `purchases` buyers out of `recipients` its posterior is
Beta(1 + purchases, 1 + recipients - purchases). For each arm we report the probability that its rate is the
highest of all arms, and a 95 % credible interval of its rate.

P(best) is computed by numerical integration, P(arm i best) = integral of f_i(x) * prod_{j != i} F_j(x) dx, on a
grid dense where each posterior has its mass (no random draws, so the page shows the same numbers on every load).
`p_best_by_sampling` is the plain Monte Carlo version of the same figure, kept as the reference the tests compare
the integration with.

Opens never enter here: mail privacy features (Apple Mail preloads every image) make them meaningless.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

# The rule the page states: a winner is named only when every arm has been sent to MIN_RECIPIENTS people and the
# arms together made MIN_PURCHASES purchases, and then only the arm whose P(best) reaches WINNER_PROBABILITY.
MIN_RECIPIENTS = 200
MIN_PURCHASES = 20
WINNER_PROBABILITY = 0.95
CREDIBLE_MASS = 0.95

# The grid: points per arm spread over mean +/- TAIL_SDS standard deviations (clipped to [0, 1]). 20 standard
# deviations leave less than 1e-9 of any posterior of ours outside, and 2,000 points give dozens per deviation.
POINTS_PER_ARM = 2000
TAIL_SDS = 20.0


@dataclass(frozen=True)
class Posterior:
    """Beta(alpha, beta) of one arm's purchases per recipient."""

    alpha: float
    beta: float

    @classmethod
    def of(cls, *, purchases: int, recipients: int) -> Posterior:
        if not 0 <= purchases <= recipients:
            raise ValueError(f"purchases ({purchases}) must be between 0 and recipients ({recipients})")
        return cls(alpha=1 + purchases, beta=1 + recipients - purchases)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def sd(self) -> float:
        total = self.alpha + self.beta
        return math.sqrt(self.alpha * self.beta / (total * total * (total + 1)))

    def pdf(self, x: float) -> float:
        if x <= 0.0 or x >= 1.0:
            # The edges: finite (alpha, beta >= 1) and only reached by Beta(1, n) or Beta(n, 1).
            if x <= 0.0:
                return self.beta if self.alpha == 1 else 0.0
            return self.alpha if self.beta == 1 else 0.0
        return math.exp(self._log_norm + (self.alpha - 1) * math.log(x) + (self.beta - 1) * math.log1p(-x))

    @property
    def _log_norm(self) -> float:
        return math.lgamma(self.alpha + self.beta) - math.lgamma(self.alpha) - math.lgamma(self.beta)


@dataclass(frozen=True)
class ArmResult:
    label: str
    purchases: int
    recipients: int
    rate: float | None  # observed purchases per recipient; None before anyone got this arm
    p_best: float
    low: float  # 95 % credible interval of the rate
    high: float


@dataclass(frozen=True)
class Verdict:
    arms: list[ArmResult]
    enough_data: bool
    winner: str | None  # the label of an arm with P(best) >= WINNER_PROBABILITY, given enough data

    @property
    def summary(self) -> str:
        if not self.enough_data:
            return "Too little data to name a winner yet."
        if self.winner is None:
            return "No clear winner yet: no variant is best with 95 % probability."
        return f"Variant {self.winner} is best with 95 % probability or more."


def decide(counts: list[tuple[str, int, int]]) -> Verdict:
    """The verdict on arms given as (label, purchases, recipients)."""
    posteriors = [Posterior.of(purchases=p, recipients=n) for _label, p, n in counts]
    grid = _grid(posteriors)
    cdfs = [_cdf(post, grid) for post in posteriors]
    p_best = _p_best(posteriors, grid, cdfs)
    arms = []
    for (label, purchases, recipients), cdf, p in zip(counts, cdfs, p_best, strict=True):
        low, high = (_quantile(grid, cdf, q) for q in ((1 - CREDIBLE_MASS) / 2, (1 + CREDIBLE_MASS) / 2))
        arms.append(ArmResult(label=label, purchases=purchases, recipients=recipients,
                              rate=purchases / recipients if recipients else None, p_best=p, low=low, high=high))
    enough = all(n >= MIN_RECIPIENTS for _l, _p, n in counts) and sum(p for _l, p, _n in counts) >= MIN_PURCHASES
    best = max(arms, key=lambda arm: arm.p_best, default=None)
    winner = best.label if enough and best is not None and best.p_best >= WINNER_PROBABILITY else None
    return Verdict(arms=arms, enough_data=enough, winner=winner)


def p_best(posteriors: list[Posterior]) -> list[float]:
    """P(each arm has the highest rate), by numerical integration."""
    grid = _grid(posteriors)
    return _p_best(posteriors, grid, [_cdf(post, grid) for post in posteriors])


def p_best_by_sampling(posteriors: list[Posterior], *, draws: int = 20_000, seed: int = 14) -> list[float]:
    """The same as p_best, by drawing from the posteriors (a fixed seed, so it is repeatable): the plain version."""
    rng = random.Random(seed)
    wins = [0] * len(posteriors)
    for _ in range(draws):
        values = [rng.betavariate(post.alpha, post.beta) for post in posteriors]
        wins[values.index(max(values))] += 1
    return [w / draws for w in wins]


def _grid(posteriors: list[Posterior]) -> list[float]:
    """Points dense around each posterior's mass, merged: a narrow arm next to a wide one is still resolved."""
    points = {0.0, 1.0}
    for post in posteriors:
        low = max(0.0, post.mean - TAIL_SDS * post.sd)
        high = min(1.0, post.mean + TAIL_SDS * post.sd)
        step = (high - low) / POINTS_PER_ARM
        points.update(low + k * step for k in range(POINTS_PER_ARM + 1))
    return sorted(points)


def _cdf(posterior: Posterior, grid: list[float]) -> list[float]:
    """The cumulative distribution on the grid (trapezoids), scaled to end at exactly 1."""
    density = [posterior.pdf(x) for x in grid]
    cumulative = [0.0]
    for k in range(1, len(grid)):
        cumulative.append(cumulative[-1] + (density[k] + density[k - 1]) * (grid[k] - grid[k - 1]) / 2)
    total = cumulative[-1]
    return [c / total for c in cumulative]


def _p_best(posteriors: list[Posterior], grid: list[float], cdfs: list[list[float]]) -> list[float]:
    if len(posteriors) == 1:
        return [1.0]
    results = []
    for i in range(len(posteriors)):
        # The integrand of arm i: its density times the chance that every other arm lies below x. The density is
        # taken from the CDF's increments, so the integration and the CDFs use one discretisation.
        others = [cdf for j, cdf in enumerate(cdfs) if j != i]
        total = 0.0
        for k in range(1, len(grid)):
            below = math.prod((other[k] + other[k - 1]) / 2 for other in others)
            total += (cdfs[i][k] - cdfs[i][k - 1]) * below
        results.append(total)
    scale = sum(results)
    return [r / scale for r in results]


def _quantile(grid: list[float], cdf: list[float], q: float) -> float:
    """The x where the CDF reaches q, interpolated linearly between grid points."""
    k = bisect.bisect_left(cdf, q)
    if k <= 0:
        return grid[0]
    if k >= len(grid):
        return grid[-1]
    span = cdf[k] - cdf[k - 1]
    share = (q - cdf[k - 1]) / span if span > 0 else 0.0
    return grid[k - 1] + share * (grid[k] - grid[k - 1])

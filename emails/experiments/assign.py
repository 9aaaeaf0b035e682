"""Which arm of a running experiment a reader gets: a pure function of the experiment and the lead, so it is the
same on every worker and every retry, and recorded on the row when the row is rendered.

arm_for reads the database (two queries): the definition, for previews and tests. The dispatcher does not call it
per row: emails.content.current keeps the running experiments per process, checked once per batch, and applies the
same `bucket` and `pick` to them (tests/experiments/test_assignment.py holds the two to the same answers)."""

import hashlib
from collections.abc import Sequence

from emails.experiments.models import Experiment, Variant


def bucket(experiment_id: int, lead_id: int) -> float:
    """A number in [0, 1) spread evenly over leads, independent between experiments."""
    digest = hashlib.blake2b(f"{experiment_id}:{lead_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick(variants: Sequence[Variant], point: float) -> Variant:
    """The variant whose share of the weights contains `point`."""
    total = sum(v.weight for v in variants)
    edge = 0.0
    for variant in variants:
        edge += variant.weight / total
        if point < edge:
            return variant
    return variants[-1]


def arm_for(*, step: str, lead_id: int) -> Variant | None:
    """The reader's variant of `step`'s running experiment, or None when none runs."""
    experiment = Experiment.objects.filter(step=step, status=Experiment.Status.RUNNING).first()
    if experiment is None:
        return None
    variants = list(experiment.variants.all())
    if not variants:
        return None
    return pick(variants, bucket(experiment.pk, lead_id))

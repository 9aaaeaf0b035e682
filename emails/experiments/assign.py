"""Which arm of a running experiment a reader gets, and the copy that arm sends.

The arm is a pure function of the experiment and the lead, so it is the same on every worker and every retry, and
recorded on the row when the row is rendered. The dispatcher applies `bucket` and `pick` to the running experiments
it keeps per process (emails.content.current), checked once per batch."""

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from emails.content.text import CopyText
from emails.experiments.models import Experiment, Variant

if TYPE_CHECKING:
    from emails.experiments.services import VariantSpec


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


def variant_text(variant: "Variant | VariantSpec", published: CopyText, scope: str) -> CopyText:
    """The copy a reader of this arm gets: the published copy with the arm's subject, or the arm's whole email.
    Whether external links are allowed stays the published copy's: an arm has no say in it."""
    if scope == Experiment.Scope.SUBJECT:
        return CopyText(subject=variant.subject, preheader=published.preheader, body=published.body,
                        allow_external_links=published.allow_external_links)
    return CopyText(subject=variant.subject, preheader=variant.preheader, body=variant.body,
                    allow_external_links=published.allow_external_links)

"""Writes to experiments: start one (validated), end it, promote its winner to the published copy."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from emails.broadcasts.models import Broadcast
from emails.content.checks import copy_problems
from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText, text_of
from emails.experiments.assign import variant_text
from emails.experiments.models import Experiment, Variant
from emails.models import FOLLOW_UP_STEPS, SEQUENCE_STEPS

LABELS = "ABCD"
MIN_VARIANTS, MAX_VARIANTS = 2, 4
# The steps whose emails carry the upgrade link, so purchases (what decides) are credited to them.
EXPERIMENT_STEPS = [*SEQUENCE_STEPS, *FOLLOW_UP_STEPS]


def experiment_steps() -> list[str]:
    """The emails an experiment may test: the sequence, the follow-up, and every broadcast not sent yet (an A/B
    subject test of a broadcast is started before it is sent, so every reader gets their arm)."""
    drafts = Broadcast.objects.filter(status=Broadcast.Status.DRAFT).order_by("pk").values_list("pk", flat=True)
    return [*EXPERIMENT_STEPS, *(Broadcast(pk=pk).step for pk in drafts)]


@dataclass(frozen=True)
class VariantSpec:
    """One arm as the marketer wrote it. For a subject-only experiment only `subject` is used."""

    subject: str
    weight: int = 1
    preheader: str = ""
    body: str = ""


def published_text(step: str) -> CopyText | None:
    """The step's copy sent now, read from the database: what an arm is checked against and promoted onto."""
    copy = EmailCopy.objects.newest(step)
    return text_of(copy) if copy is not None else None


def variant_problems(step: str, scope: str, specs: Sequence[Variant | VariantSpec]) -> dict[str, list[str]]:
    """What is wrong with these arms, by field ("variants", "step", or "A.subject", "B.body"...); empty if none."""
    problems: dict[str, list[str]] = {}
    if step not in experiment_steps():
        problems["step"] = [f"Experiments run on the sequence and follow-up emails ({', '.join(EXPERIMENT_STEPS)}) "
                            f"and on broadcasts not sent yet, whose upgrade link credits purchases; not on {step!r}."]
    if scope not in Experiment.Scope.values:
        problems["scope"] = [f"Unknown scope {scope!r}."]
    if not MIN_VARIANTS <= len(specs) <= MAX_VARIANTS:
        problems["variants"] = [f"An experiment has {MIN_VARIANTS} to {MAX_VARIANTS} variants, not {len(specs)}."]
    published = published_text(step)
    if published is None and "step" not in problems:
        problems["step"] = [f"{step} has no published copy to test against."]
    for label, spec in zip(LABELS, specs, strict=False):
        if spec.weight <= 0:
            problems.setdefault(f"{label}.weight", []).append("The share of readers must be more than 0.")
        if published is None or scope not in Experiment.Scope.values:
            continue
        for name, messages in copy_problems(step, variant_text(spec, published, scope)).items():
            problems.setdefault(f"{label}.{name}", []).extend(messages)
    return problems


@transaction.atomic
def experiment_start(*, step: str, name: str, scope: str, variants: Sequence[VariantSpec],
                     user: Any = None) -> Experiment:
    """Start an experiment on `step`: from now on each reader of that email gets one arm (labelled A, B, ...).

    Refused (ValidationError, by field) with fewer than 2 or more than 4 arms, a weight of 0, copy that would not
    pass the editor's checks, or another experiment already running on the step.
    """
    problems = variant_problems(step, scope, variants)
    busy = f"An experiment is already running on {step}: end it first."
    if Experiment.objects.filter(step=step, status=Experiment.Status.RUNNING).exists():
        problems.setdefault("step", []).append(busy)
    if problems:
        raise ValidationError(problems)
    try:
        # Two starts at once both pass the check above; the database's one-running-experiment-per-step constraint
        # lets only one through, and the other gets the same refusal.
        with transaction.atomic():
            experiment = Experiment.objects.create(step=step, name=name.strip()[:100] or f"{step} test", scope=scope,
                                                   created_by=user if getattr(user, "pk", None) else None)
    except IntegrityError:
        raise ValidationError({"step": [busy]}) from None
    Variant.objects.bulk_create([
        Variant(experiment=experiment, label=label, weight=spec.weight, subject=spec.subject,
                preheader=spec.preheader if scope == Experiment.Scope.WHOLE else "",
                body=spec.body if scope == Experiment.Scope.WHOLE else "")
        for label, spec in zip(LABELS, variants, strict=False)
    ])
    return experiment


@transaction.atomic
def experiment_end(*, experiment: Experiment) -> Experiment:
    """Stop the experiment: readers get the published copy again. The arms' figures stay for the record."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != Experiment.Status.ENDED:
        experiment.status = Experiment.Status.ENDED
        experiment.ended_at = timezone.now()
        experiment.save(update_fields=["status", "ended_at"])
    return experiment


@transaction.atomic
def experiment_promote(*, experiment: Experiment, variant: Variant, user: Any = None) -> EmailCopy:
    """End the experiment, record `variant` as its winner, and publish it as the step's next copy version.

    For a subject-only experiment the new version is the copy published now with the winner's subject, so an
    edit published while the test ran is kept. The new version is checked like any edit before it is published.
    """
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if variant.experiment_id != experiment.pk:
        raise ValidationError({"variant": ["That variant belongs to another experiment."]})
    if experiment.winner is not None:
        raise ValidationError({"variant": [f"Variant {experiment.winner.label} was already promoted."]})
    published = published_text(experiment.step)
    if published is None:
        raise ValidationError({"step": [f"{experiment.step} has no published copy."]})
    text = variant_text(variant, published, experiment.scope)
    problems = copy_problems(experiment.step, text)
    if problems:
        raise ValidationError(problems)
    experiment.status = Experiment.Status.ENDED
    experiment.ended_at = experiment.ended_at or timezone.now()
    experiment.winner = variant
    experiment.save(update_fields=["status", "ended_at", "winner"])
    return copy_publish(step=experiment.step, text=text, origin=EmailCopy.Origin.EXPERIMENT, user=user,
                        note=f"Winner of experiment {experiment.name!r}: variant {variant.label}")

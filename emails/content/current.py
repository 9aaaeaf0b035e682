"""Which copy an email is rendered from: the step's published version, or the reader's arm of a running experiment.

Read once per dispatch batch, not once per email: the published versions and the running experiments are kept in
this process and checked with one small query (a fingerprint of both tables) at the start of each batch. Outside
a batch (a preview, a single render) every lookup checks the fingerprint itself.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

from emails.content.models import EmailCopy
from emails.content.text import CopyText, text_of
from emails.experiments.assign import bucket, pick, variant_text
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail, copy_step
from leads.models import Lead


@dataclass(frozen=True)
class ChosenCopy:
    """The copy a row is rendered from, and what the row records about it."""

    text: CopyText
    version: int | None
    variant: Variant | None


class _State:
    fingerprint: tuple[object, ...] | None = None
    published: dict[str, EmailCopy] = {}
    experiments: dict[str, tuple[Experiment, list[Variant]]] = {}
    in_batch = False


_state = _State()


def _fingerprint() -> tuple[object, ...]:
    copies, experiments, variants = (EmailCopy._meta.db_table, Experiment._meta.db_table, Variant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {copies}), (SELECT COUNT(*) FROM {copies}),"  # noqa: S608 - table names
            f" (SELECT COUNT(*) FROM {experiments} WHERE status = %s),"
            f" (SELECT SUM(id) FROM {experiments} WHERE status = %s),"
            f" (SELECT MAX(id) FROM {variants}), (SELECT COUNT(*) FROM {variants})",
            [Experiment.Status.RUNNING, Experiment.Status.RUNNING])
        row = cursor.fetchone()
    return tuple(row or ())


def _reload() -> None:
    _state.published = {c.step: c for c in EmailCopy.objects.published()}
    running = Experiment.objects.filter(status=Experiment.Status.RUNNING).prefetch_related("variants")
    _state.experiments = {}
    for experiment in running:
        variants = list(experiment.variants.all())
        for variant in variants:
            variant.experiment = experiment  # so reading an arm's scope is no query per row
        _state.experiments[experiment.step] = (experiment, variants)


def refresh() -> None:
    """Bring this process's copy up to date if anything was published or an experiment started or ended."""
    fingerprint = _fingerprint()
    if fingerprint != _state.fingerprint:
        _reload()
        _state.fingerprint = fingerprint


def forget() -> None:
    """Drop what this process holds (tests that roll the database back)."""
    _state.fingerprint = None
    _state.published = {}
    _state.experiments = {}


@contextmanager
def copy_batch() -> Iterator[None]:
    """One check for a whole batch of renders: what is published during the batch applies to the next one."""
    if _state.in_batch:
        yield
        return
    refresh()
    _state.in_batch = True
    try:
        yield
    finally:
        _state.in_batch = False


def _current() -> None:
    if not _state.in_batch:
        refresh()


class NoCopy(LookupError):
    """A step with no published copy (the shipped files are loaded on migrate: run migrate)."""


def published_copy(step: str) -> EmailCopy:
    _current()
    try:
        return _state.published[step]
    except KeyError:
        raise NoCopy(f"no published copy for {step!r}: run manage.py migrate to load emails/content/files") from None


def _arm(row: ScheduledEmail, lead_id: int) -> Variant | None:
    """The arm recorded on the row (a retry keeps it), else the running experiment's arm for this reader, picked
    from the variants held in this process."""
    if row.variant_id is not None:
        for _experiment, variants in _state.experiments.values():
            for variant in variants:
                if variant.pk == row.variant_id:
                    return variant
        return Variant.objects.select_related("experiment").get(pk=row.variant_id)  # its experiment has ended
    running = _state.experiments.get(row.step)
    if running is None or not running[1]:
        return None
    experiment, variants = running
    return pick(variants, bucket(experiment.pk, lead_id))


def copy_for_row(lead: Lead, row: ScheduledEmail) -> ChosenCopy:
    """(copy, version, arm) for `row`: a subject-only arm keeps the published preheader and body."""
    published = published_copy(copy_step(row.step))
    text = text_of(published)
    variant = _arm(row, lead.pk)
    if variant is None:
        return ChosenCopy(text=text, version=published.version, variant=None)
    return ChosenCopy(text=variant_text(variant, text, variant.experiment.scope), version=published.version,
                      variant=variant)

"""Reads for the editor pages: every step with its published version, draft and running experiment."""

from dataclasses import dataclass

from emails.content.models import EmailCopy, EmailDraft
from emails.content.text import text_of
from emails.experiments.models import Experiment
from emails.models import BROADCAST_STEP_PREFIX, FOLLOW_UP_STEPS, SEQUENCE_STEPS, SUNSET_STEP

# The order a marketer thinks of the mail in: signing up, the sequence and its follow-up, then buying and signing in.
STEP_ORDER = ["confirm", "confirm-reminder", *SEQUENCE_STEPS, *FOLLOW_UP_STEPS, SUNSET_STEP, "order-waiting",
              "payment-failed",
              "access", "signin"]


def _order(step: str) -> tuple[int, str]:
    return (STEP_ORDER.index(step) if step in STEP_ORDER else len(STEP_ORDER), step)


@dataclass(frozen=True)
class DraftState:
    draft: EmailDraft | None
    current: EmailCopy | None

    @property
    def has_changes(self) -> bool:
        """The draft says something the published version does not."""
        if self.draft is None or self.draft.revision == 0:
            return False
        return self.current is None or text_of(self.draft) != text_of(self.current)

    @property
    def behind(self) -> bool:
        """Started from an older version than the one published now (a rollback, an import or a promoted
        experiment came in between): publishing it would undo that."""
        return bool(self.has_changes and self.current and self.draft
                    and self.draft.based_on_version < self.current.version)

    @property
    def label(self) -> str:
        if not self.has_changes:
            return "No unpublished changes"
        assert self.draft is not None  # noqa: S101 - has_changes implies a draft
        who = self.draft.updated_by.get_username() if self.draft.updated_by else "an import"
        text = f"Unpublished changes by {who}"
        return f"{text} (started from version {self.draft.based_on_version})" if self.behind else text


@dataclass(frozen=True)
class StepRow:
    step: str
    current: EmailCopy
    state: DraftState
    experiment: Experiment | None


def editor_steps() -> list[StepRow]:
    """One row per email of the product that has copy (three queries whatever the number of steps). A broadcast's
    one-off email is listed with its broadcast (Admin → Broadcasts), not here, nor exported with the product's."""
    current = {c.step: c for c in EmailCopy.objects.published().exclude(step__startswith=BROADCAST_STEP_PREFIX)
               .select_related("created_by")}
    drafts = {d.step: d for d in EmailDraft.objects.select_related("updated_by").filter(step__in=current)}
    experiments = {e.step: e for e in Experiment.objects.filter(status=Experiment.Status.RUNNING)}
    return [StepRow(step=step, current=current[step], state=DraftState(drafts.get(step), current[step]),
                    experiment=experiments.get(step)) for step in sorted(current, key=_order)]


def step_state(step: str) -> tuple[EmailCopy | None, EmailDraft | None, Experiment | None]:
    current = EmailCopy.objects.select_related("created_by").newest(step)
    draft = EmailDraft.objects.select_related("updated_by").filter(step=step).first()
    experiment = Experiment.objects.filter(step=step, status=Experiment.Status.RUNNING).first()
    return current, draft, experiment


def step_history(step: str) -> list[EmailCopy]:
    return list(EmailCopy.objects.select_related("created_by").history(step))

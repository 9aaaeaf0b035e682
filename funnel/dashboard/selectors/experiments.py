"""The per-experiment view: each arm's mail, clicks and money, and which arm sells best.

Definitions (shown on the page):
- Sent: the experiment's emails handed to the ESP with this arm (the arm is recorded on the row when it is
  rendered, and kept if the email is retried).
- Human clicks / upgrade clicks: emails of the arm with at least one click (any link / the upgrade link) through
  our signed redirect by a person; mailbox scanners' clicks are left out (emails/clicks.py).
- Purchases: recipients of the arm who paid through that email's own signed link (refunded or disputed later
  included, as on the dashboard); revenue: gross of those purchases, net = gross minus refunds.
- Revenue per recipient: net revenue / sent.
- Opens: emails with an "opened" event. Shown for reference only: Apple Mail and other privacy features load
  every image, so an open says little about a person; they never decide anything here.
- P(best) and the 95 % interval: see emails/experiments/stats.py (purchases per recipient, beta-binomial).

Four queries whatever the number of emails: sent, opens, clicks and purchases, each grouped by arm.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from emails.experiments import stats
from emails.experiments.models import Experiment, Variant
from emails.models import EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import credit_clicks_and_purchases, rate


@dataclass
class ArmRow:
    variant: Variant
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    upgrade_clicks: int = 0
    purchases: int = 0
    gross_cents: int = 0
    net_cents: int = 0
    p_best: float | None = None
    low: float | None = None  # 95 % credible interval of purchases per recipient
    high: float | None = None

    @property
    def label(self) -> str:
        return self.variant.label

    @property
    def net_cents_per_recipient(self) -> float | None:
        return None if not self.sent else self.net_cents / self.sent

    def rate(self, name: str) -> float | None:
        return rate(getattr(self, name), self.sent)


@dataclass
class ExperimentReport:
    experiment: Experiment
    arms: list[ArmRow]
    verdict: stats.Verdict

    @property
    def recommended(self) -> ArmRow | None:
        return next((arm for arm in self.arms if arm.label == self.verdict.winner), None)


def recent_experiments(limit: int = 20) -> list[Experiment]:
    """The running experiments first, then the latest ended ones (one query)."""
    return list(Experiment.objects.select_related("winner")
                .order_by("-status", "-started_at")[:limit])  # "running" sorts after "ended": descending


def experiment_report(experiment: Experiment) -> ExperimentReport:
    variants = list(Variant.objects.filter(experiment=experiment).order_by("label"))
    rows = {variant.pk: ArmRow(variant=variant) for variant in variants}
    sent = ScheduledEmail.objects.filter(variant__experiment=experiment, sent_at__isnull=False)

    for item in sent.values("variant_id").annotate(n=Count("pk")).order_by():
        rows[item["variant_id"]].sent = item["n"]

    via = "scheduled_email__"
    in_experiment = Q(**{f"{via}variant__experiment": experiment, f"{via}sent_at__isnull": False})
    opened = (EmailEvent.objects.filter(in_experiment, event_type="opened")
              .values(f"{via}variant_id").annotate(n=Count("scheduled_email_id", distinct=True)).order_by())
    for item in opened:
        rows[item[f"{via}variant_id"]].opened = item["n"]

    credit_clicks_and_purchases(rows, emails=in_experiment, key="variant_id")

    arms = [rows[variant.pk] for variant in variants]
    verdict = stats.decide([(arm.label, arm.purchases, arm.sent) for arm in arms])
    for arm, result in zip(arms, verdict.arms, strict=True):
        arm.p_best, arm.low, arm.high = result.p_best, result.low, result.high
    return ExperimentReport(experiment=experiment, arms=arms, verdict=verdict)

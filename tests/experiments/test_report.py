"""The per-experiment view's figures on a hand-built set with known answers.

  arm  reader  sent  events        clicks (through our signed links)          purchase credited to the email
  A    a1      yes   opened x2     upgrade x2 (person)                         paid $9.97
  A    a2      yes   opened        upgrade (a mailbox scanner: never counted)  -
  A    a3      yes   -             free guide (person)                         paid $9.97, refunded later
  A    a4      yes   -             -                                           held for review (never paid)
  A    a5      not yet sent                                                    -
  B    b1      yes   -             upgrade (person)                            paid $9.97
  B    b2      yes   -             -                                           paid $9.97 on /buy/ (no email)
  -    c1      day-3 without an arm, and day-4 with an arm of another experiment: never counted

So A: sent 4, opened 2, human clicks 2, upgrade clicks 1, purchases 2, gross $19.94, net $9.97, $2.49 per
recipient; B: sent 2, human clicks 1, upgrade clicks 1, purchases 1, gross = net $9.97, $4.99 per recipient.
Purchases per recipient: A Beta(3, 3), B Beta(2, 2), both symmetric around 1/2: P(best) is exactly 1/2 each.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from emails.experiments.models import Experiment
from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors import experiment_report
from funnel.models import Purchase
from leads.models import Lead
from tests.experiments.conftest import make_experiment, make_lead, purchase, sent_row

pytestmark = pytest.mark.django_db


def _event(row: ScheduledEmail, kind: str, n: int) -> None:
    EmailEvent.objects.create(event_id=f"ev-{kind}-{row.pk}-{n}", event_type=kind, scheduled_email=row,
                              lead=row.lead, occurred_at=timezone.now())


def _click(row: ScheduledEmail, target: str, machine: str = "") -> None:
    Click.objects.create(lead=row.lead, scheduled_email=row, target=target, machine=machine)


@pytest.fixture
def hand_built() -> Experiment:
    experiment = make_experiment(["Your neck, day 3", "Day 3: ten minutes"])
    a, b = experiment.variants.order_by("label")
    rows = {name: sent_row(make_lead(name), a) for name in ("a1", "a2", "a3", "a4")}
    sent_row(make_lead("a5"), a, sent=False)
    rows |= {name: sent_row(make_lead(name), b) for name in ("b1", "b2")}

    _event(rows["a1"], "opened", 1)
    _event(rows["a1"], "opened", 2)
    _event(rows["a2"], "opened", 1)
    _click(rows["a1"], Click.Target.UPGRADE)
    _click(rows["a1"], Click.Target.UPGRADE)
    _click(rows["a2"], Click.Target.UPGRADE, machine=Click.Machine.AGENT)
    _click(rows["a3"], Click.Target.FREE_GUIDE)
    _click(rows["b1"], Click.Target.UPGRADE)
    purchase(rows["a1"], rows["a1"].lead)
    purchase(rows["a3"], rows["a3"].lead, status=Purchase.Status.REFUNDED)
    purchase(rows["a4"], rows["a4"].lead, status=Purchase.Status.REVIEW)
    purchase(rows["b1"], rows["b1"].lead)
    purchase(None, rows["b2"].lead)

    outsider = make_lead("c1")
    plain = sent_row(outsider, None)
    purchase(plain, outsider)
    other = make_experiment(["X", "Y"], step="day-4")
    elsewhere = sent_row(outsider, other.variants.first(), step="day-4")
    _click(elsewhere, Click.Target.UPGRADE)
    purchase(elsewhere, outsider)
    return experiment


def test_each_arm_gets_its_own_figures(hand_built: Experiment) -> None:
    report = experiment_report(hand_built)
    figures = {arm.label: (arm.sent, arm.opened, arm.clicked, arm.upgrade_clicks, arm.purchases, arm.gross_cents,
                           arm.net_cents) for arm in report.arms}
    assert figures == {"A": (4, 2, 2, 1, 2, 1994, 997), "B": (2, 0, 1, 1, 1, 997, 997)}
    a, b = report.arms
    assert a.net_cents_per_recipient == pytest.approx(249.25) and b.net_cents_per_recipient == pytest.approx(498.5)
    assert a.rate("purchases") == 0.5 and b.rate("upgrade_clicks") == 0.5


def test_the_probabilities_of_the_hand_built_set(hand_built: Experiment) -> None:
    report = experiment_report(hand_built)
    a, b = report.arms
    assert (a.p_best, b.p_best) == pytest.approx((0.5, 0.5), abs=1e-6)
    assert a.low is not None and a.high is not None and a.low < 0.5 < a.high
    assert a.low == pytest.approx(1 - a.high, abs=1e-6)  # symmetric posterior, symmetric interval
    assert not report.verdict.enough_data and report.recommended is None


def test_the_report_takes_four_queries_however_many_emails(hand_built: Experiment) -> None:
    with CaptureQueriesContext(connection) as queries:
        experiment_report(hand_built)
    small = len(queries)
    variant = hand_built.variants.get(label="B")
    for n in range(20):
        sent_row(make_lead(f"more{n}"), variant)
    with CaptureQueriesContext(connection) as queries:
        experiment_report(hand_built)
    assert len(queries) == small <= 5  # the variants, then sent, opens, clicks, purchases


def test_a_clear_winner_on_enough_readers(db: None) -> None:
    """400 readers per arm; A sold to 40 of them, B to 10: A is best with near certainty."""
    experiment = make_experiment(["A subject", "B subject"])
    a, b = experiment.variants.order_by("label")
    now = timezone.now()
    leads = Lead.objects.bulk_create([Lead(email=f"r{n}@example.com", status=Lead.Status.SUBSCRIBED,
                                           confirmed_at=now) for n in range(800)])
    rows = ScheduledEmail.objects.bulk_create([
        ScheduledEmail(lead=lead, step="day-3", send_at=now, sent_at=now, status=ScheduledEmail.Status.SENT,
                       variant=a if n < 400 else b) for n, lead in enumerate(leads)])
    buyers = rows[:40] + rows[400:410]
    Purchase.objects.bulk_create([Purchase(stripe_session_id=f"cs_big_{row.pk}", lead_id=row.lead_id,
                                           scheduled_email=row, amount_cents=997, currency="usd") for row in buyers])

    report = experiment_report(experiment)
    assert [(arm.sent, arm.purchases) for arm in report.arms] == [(400, 40), (400, 10)]
    assert (report.arms[0].p_best or 0) > 0.99
    assert report.verdict.enough_data and report.verdict.winner == "A"
    assert report.recommended is report.arms[0]

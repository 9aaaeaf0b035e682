"""An experiment's world: a published day-3 email, staff who may promote, and the view-only "marketing" group."""

from collections.abc import Iterator
from itertools import count

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from emails.content import current
from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText
from emails.experiments.models import Experiment, Variant
from emails.models import ScheduledEmail
from funnel.models import Purchase
from leads.models import Lead

STEP = "day-3"
SUBJECT = "Day 3: same steps, same order"
PREHEADER = "Ten minutes today."
BODY = ("Good morning{{ if first_name }}, {{ first_name }}{{ end }}.\n\n"
        "Day {{ day_number }} of the plan: the same three steps, in the same order.\n")
_seq = count(1)


@pytest.fixture(autouse=True)
def _fresh_copy_cache() -> Iterator[None]:
    """The dispatcher's copy and running experiments are kept per process: none may leak between tests."""
    current.forget()
    yield
    current.forget()


@pytest.fixture
def day3(db: None) -> EmailCopy:
    """day-3's current version: the shipped one when the copy files were loaded, else one published here."""
    newest = EmailCopy.objects.newest(STEP)
    return newest or copy_publish(step=STEP, text=CopyText(SUBJECT, PREHEADER, BODY), origin=EmailCopy.Origin.SHIPPED)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def boss(db: None) -> User:
    return User.objects.create_superuser("boss", "boss@example.com", "pw")



def make_experiment(subjects: list[str], *, weights: list[int] | None = None, step: str = STEP,
                    scope: str = Experiment.Scope.SUBJECT, status: str = Experiment.Status.RUNNING) -> Experiment:
    """An experiment written straight to the tables (the services' checks are tested on their own)."""
    experiment = Experiment.objects.create(step=step, name=f"test {next(_seq)}", scope=scope, status=status)
    for label, subject, weight in zip("ABCD", subjects, weights or [1] * len(subjects), strict=False):
        Variant.objects.create(experiment=experiment, label=label, weight=weight, subject=subject)
    return experiment


def arm_of(lead_id: int, *, step: str = STEP) -> Variant | None:
    """The arm the dispatcher would render this reader's `step` email from (an unsaved row: nothing is queued)."""
    row = ScheduledEmail(step=step, stream=ScheduledEmail.Stream.MARKETING)
    return current.copy_for_row(Lead(pk=lead_id), row).variant


def make_lead(name: str) -> Lead:
    return Lead.objects.create(email=f"{name}-{next(_seq)}@example.com", first_name=name,
                               status=Lead.Status.SUBSCRIBED, confirmed_at=timezone.now())


def sent_row(lead: Lead, variant: Variant | None, *, step: str = STEP, sent: bool = True) -> ScheduledEmail:
    now = timezone.now()
    return ScheduledEmail.objects.create(
        lead=lead, step=step, stream=ScheduledEmail.Stream.MARKETING, send_at=now, variant=variant,
        status=ScheduledEmail.Status.SENT if sent else ScheduledEmail.Status.SCHEDULED, sent_at=now if sent else None)


def purchase(row: ScheduledEmail | None, lead: Lead, *, status: str = Purchase.Status.PAID,
             amount: int = 997) -> Purchase:
    return Purchase.objects.create(stripe_session_id=f"cs_exp_{next(_seq)}", lead=lead, scheduled_email=row,
                                   status=status, amount_cents=amount, currency="usd")

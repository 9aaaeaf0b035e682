"""Every email for fixed readers at a fixed instant with fixed secrets: the cases of the shipped-copy snapshots.

Each case is (step, lead kind, variant): a named or anonymous reader, a buyer or not, and for the privacy link
the two actions. Leads, rows and purchases get fixed primary keys, because signed links carry them.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from django.test import override_settings

from emails.admin import PREVIEW_STEPS
from emails.compose import RenderedEmail
from emails.models import FOLLOW_UP_STEPS, SEQUENCE_STEPS, SUNSET_STEP, ScheduledEmail
from funnel.models.checkout import Purchase
from leads.models import Lead

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
AT = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)  # a Thursday morning
SETTINGS = {
    "SECRET_KEY": "snapshot-secret-key-fixed-so-signed-links-are-the-same-every-run",
    "SITE_URL": "https://painreset.example",
    "COMPANY_POSTAL_ADDRESS": "Pain Reset, 1 Example Street, Springfield 00000",
    "DEFAULT_FROM_EMAIL": "Pain Reset <hello@painreset.example>",
    "DEBUG": False,
}
LEAD_KINDS = {  # kind -> (primary key, first name, buyer)
    "named": (970001, "Ana", False),
    "anonymous": (970002, "", False),
    "named-buyer": (970003, "Ana", True),
    "anonymous-buyer": (970004, "", True),
}
PURCHASE_STEPS = {"access", "duplicate-refunded", "order-review"}


@dataclass(frozen=True)
class Case:
    step: str
    kind: str
    action: str = ""  # privacy-link: export or erase

    @property
    def name(self) -> str:
        return "_".join(part for part in (self.step, self.kind, self.action) if part)


def cases() -> list[Case]:
    found = []
    for step in PREVIEW_STEPS:
        for kind in LEAD_KINDS:
            for action in (("export", "erase") if step == "privacy-link" else ("",)):
                found.append(Case(step, kind, action))
    return found


@contextmanager
def fixed_world() -> Iterator[None]:
    with override_settings(**SETTINGS), time_machine.travel(AT, tick=False):
        yield


def make_case(case: Case) -> tuple[Lead, ScheduledEmail]:
    pk, first_name, buyer = LEAD_KINDS[case.kind]
    lead, _ = Lead.objects.update_or_create(pk=pk, defaults={
        "email": f"{case.kind}@snapshot.example", "first_name": first_name, "status": Lead.Status.SUBSCRIBED,
        "time_zone": "Europe/Berlin", "created_at": AT, "confirmed_at": AT, "is_customer": buyer,
        "customer_since": AT if buyer else None})
    row_pk = 980000 + 100 * list(LEAD_KINDS).index(case.kind) + PREVIEW_STEPS.index(case.step)
    context: dict[str, object] = {}
    if case.step in PURCHASE_STEPS:
        purchase, _ = Purchase.objects.update_or_create(pk=990000 + pk % 100, defaults={
            "stripe_session_id": f"cs_snapshot_{pk}", "lead": lead, "amount_cents": 997, "currency": "usd",
            "created_at": AT})
        context["purchase_id"] = purchase.pk
    if case.action:
        context["action"] = case.action
    marketing = case.step in SEQUENCE_STEPS or case.step in FOLLOW_UP_STEPS or case.step == SUNSET_STEP
    stream = ScheduledEmail.Stream.MARKETING if marketing else ScheduledEmail.Stream.TRANSACTIONAL
    row, _ = ScheduledEmail.objects.update_or_create(pk=row_pk, defaults={
        "lead": lead, "step": case.step, "stream": stream, "send_at": AT, "created_at": AT, "context": context,
        "key": case.name if stream == ScheduledEmail.Stream.TRANSACTIONAL else ""})
    return lead, row


def snapshot_path(case: Case, part: str) -> Path:
    return SNAPSHOTS / f"{case.name}.{part}"


def write_snapshots(render: Callable[[Lead, ScheduledEmail], RenderedEmail]) -> None:
    SNAPSHOTS.mkdir(exist_ok=True)
    with fixed_world():
        for case in cases():
            lead, row = make_case(case)
            rendered = render(lead, row)
            snapshot_path(case, "subject.txt").write_text(rendered.subject + "\n")
            snapshot_path(case, "txt").write_text(rendered.text)
            snapshot_path(case, "html").write_text(rendered.html)

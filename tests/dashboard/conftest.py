"""A small hand-built world where every dashboard figure is known in advance.

Period under test: Mon 2026-03-02 .. Sun 2026-03-08 (7 days); the previous period is 2026-02-23 .. 2026-03-01.

  lead  source/campaign  signup        story
  L1    fb/spring        03-02 10:00   confirmed; welcome delivered + opened twice; day-1 delivered, upgrade click on
                                       day-1, checkout from day-1, paid $9.97 on 03-04 10:00 (2 days), credited to day-1
  L2    fb/spring        03-03 12:00   confirmed; welcome delivered + opened, upgrade click on welcome, checkout, paid
                                       $9.97 6 hours later credited to welcome, refunded on 03-05
  L3    google/brand     03-05 09:00   confirmed; welcome bounced; a purchase held for "review" (never paid)
  L4    google/brand     03-06 09:00   never confirmed (only a transactional confirm email)
  L5    fb/spring        03-08 23:00   confirmed; welcome delivered, complained, ESP "unsubscribed" event
  L6    google/brand     03-04 08:00   confirmed; welcome delivered + free-guide click; day-1 delivered + opened;
                                       unsubscribed with our link 03-05 09:00 (after day-1) and the ESP also reported it
  L7    fb/spring        03-09 00:00   the day after the period: never counted
  P1    fb/spring        02-25 10:00   previous period; confirmed; bought directly (no email) 4 days later
  P2    fb/spring        02-24 10:00   previous period; never confirmed
Visits: 03-02 fb/cpc/spring 40, 03-05 google/cpc/brand 20, 03-09 fb/cpc/spring 100 (outside), 02-25 fb/cpc/spring 30.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from emails.models import Click, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors import DashboardFilters
from funnel.models import CheckoutSession, DailyVisit, Purchase
from leads.models import Lead

START, END = date(2026, 3, 2), date(2026, 3, 8)
_seq = count(1)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def make_lead(name: str, source: str, campaign: str, created: datetime, *, confirmed: bool = True,
              **fields: Any) -> Lead:
    return Lead.objects.create(
        email=f"{name.lower()}@example.com", first_name=name, utm_source=source, utm_medium="cpc",
        utm_campaign=campaign, created_at=created, confirmed_at=created + timedelta(minutes=3) if confirmed else None,
        status=Lead.Status.SUBSCRIBED if confirmed else Lead.Status.PENDING, **fields,
    )


def make_email(lead: Lead, step: str, sent: datetime | None, *, events: tuple[str, ...] = (),
               stream: str = ScheduledEmail.Stream.MARKETING) -> ScheduledEmail:
    row = ScheduledEmail.objects.create(
        lead=lead, step=step, stream=stream, send_at=sent or at(12, 1),
        status=ScheduledEmail.Status.SENT if sent else ScheduledEmail.Status.SCHEDULED, sent_at=sent,
    )
    for offset, event_type in enumerate(events):
        EmailEvent.objects.create(event_id=f"ev-{next(_seq)}", event_type=event_type, scheduled_email=row, lead=lead,
                                  occurred_at=(sent or at(12, 1)) + timedelta(minutes=10 + offset))
    return row


def make_purchase(lead: Lead, when: datetime, email: ScheduledEmail | None, *, status: str = Purchase.Status.PAID,
                  amount: int = 997, refunded_at: datetime | None = None) -> Purchase:
    n = next(_seq)
    CheckoutSession.objects.create(stripe_session_id=f"cs_{n}", lead=lead, scheduled_email=email,
                                   idempotency_key=f"key-{n}", status=CheckoutSession.Status.COMPLETE,
                                   created_at=when - timedelta(minutes=5))
    return Purchase.objects.create(stripe_session_id=f"cs_{n}", lead=lead, scheduled_email=email, status=status,
                                   amount_cents=amount, currency="usd", created_at=when, refunded_at=refunded_at)


@pytest.fixture(autouse=True)
def _empty_dashboard_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard caches its figures per set of filters: each test gets its own cache keys (flushing the whole
    cache would also flush the Celery broker, which shares the Redis database)."""
    from funnel.dashboard import figures

    monkeypatch.setattr(figures, "CACHE_VERSION", f"test-{next(_seq)}-{uuid.uuid4().hex}")


@dataclass
class World:
    leads: dict[str, Lead] = field(default_factory=dict)
    emails: dict[str, ScheduledEmail] = field(default_factory=dict)

    @property
    def filters(self) -> DashboardFilters:
        return DashboardFilters(start=START, end=END)


@pytest.fixture
def world(db: None) -> World:
    w = World()
    L = w.leads  # noqa: N806
    E = w.emails  # noqa: N806

    L["L1"] = make_lead("L1", "fb", "spring", at(3, 2, 10), is_customer=True)
    E["L1-welcome"] = make_email(L["L1"], "welcome", at(3, 2, 10, 5), events=("delivered", "opened", "opened"))
    E["L1-day-1"] = make_email(L["L1"], "day-1", at(3, 3, 8), events=("delivered",))
    make_email(L["L1"], "day-2", None)  # scheduled, not sent yet
    Click.objects.create(lead=L["L1"], scheduled_email=E["L1-day-1"], target="upgrade", created_at=at(3, 4, 9))
    make_purchase(L["L1"], at(3, 4, 10), E["L1-day-1"])

    L["L2"] = make_lead("L2", "fb", "spring", at(3, 3, 12))
    E["L2-welcome"] = make_email(L["L2"], "welcome", at(3, 3, 12, 5), events=("delivered", "opened"))
    Click.objects.create(lead=L["L2"], scheduled_email=E["L2-welcome"], target="upgrade", created_at=at(3, 3, 17))
    Click.objects.create(lead=L["L2"], scheduled_email=E["L2-welcome"], target="upgrade", created_at=at(3, 3, 17, 30))
    make_purchase(L["L2"], at(3, 3, 18), E["L2-welcome"], status=Purchase.Status.REFUNDED, refunded_at=at(3, 5))

    L["L3"] = make_lead("L3", "google", "brand", at(3, 5, 9))
    E["L3-welcome"] = make_email(L["L3"], "welcome", at(3, 5, 9, 5), events=("bounced",))
    Purchase.objects.create(stripe_session_id="cs_review", lead=L["L3"], status=Purchase.Status.REVIEW,
                            amount_cents=500, currency="usd", created_at=at(3, 6))

    L["L4"] = make_lead("L4", "google", "brand", at(3, 6, 9), confirmed=False)
    make_email(L["L4"], "confirm", at(3, 6, 9, 1), events=("delivered", "opened"),
               stream=ScheduledEmail.Stream.TRANSACTIONAL)

    L["L5"] = make_lead("L5", "fb", "spring", at(3, 8, 23))
    E["L5-welcome"] = make_email(L["L5"], "welcome", at(3, 8, 23, 5),
                                 events=("delivered", "complained", "unsubscribed"))

    L["L6"] = make_lead("L6", "google", "brand", at(3, 4, 8))
    E["L6-welcome"] = make_email(L["L6"], "welcome", at(3, 4, 8, 5), events=("delivered",))
    Click.objects.create(lead=L["L6"], scheduled_email=E["L6-welcome"], target="free_guide", created_at=at(3, 4, 9))
    E["L6-day-1"] = make_email(L["L6"], "day-1", at(3, 5, 8), events=("delivered", "opened", "unsubscribed"))
    Lead.objects.filter(pk=L["L6"].pk).update(status=Lead.Status.UNSUBSCRIBED, unsubscribed_at=at(3, 5, 9))

    L["L7"] = make_lead("L7", "fb", "spring", at(3, 9, 0))
    make_email(L["L7"], "welcome", at(3, 9, 0, 5), events=("delivered", "opened"))

    L["P1"] = make_lead("P1", "fb", "spring", at(2, 25, 10))
    make_purchase(L["P1"], at(3, 1, 10), None)
    L["P2"] = make_lead("P2", "fb", "spring", at(2, 24, 10), confirmed=False)

    for day, source, campaign, visits in [
        (date(2026, 3, 2), "fb", "spring", 40), (date(2026, 3, 5), "google", "brand", 20),
        (date(2026, 3, 9), "fb", "spring", 100), (date(2026, 2, 25), "fb", "spring", 30),
    ]:
        DailyVisit.objects.create(date=day, utm_source=source, utm_medium="cpc", utm_campaign=campaign, count=visits)
    return w

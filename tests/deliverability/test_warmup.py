"""Issue 22 item 5: a new sending domain's warm-up, through the real dispatcher, with the clock in the test's hands.

Day 1 (SEND_WARMUP_START) allows 50 marketing emails, day 2 100, day 3 200. Readers over the cap wait for their own
next morning (8:00 in their zone), ahead of the mail first due that morning; transactional mail is never capped.
"""

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from emails import dispatch
from emails.deliverability.models import WarmupDay
from emails.deliverability.warmup import warmup_cap
from emails.models import WARMUP_WAITING, ScheduledEmail
from emails.services import email_queue
from leads.models import Lead

pytestmark = [pytest.mark.django_db]
DAY_1 = date(2027, 3, 2)
NY_MORNING = datetime(2027, 3, 2, 13, 0, tzinfo=UTC)  # 8:00 in New York (EST)
Status = ScheduledEmail.Status


@pytest.fixture(autouse=True)
def _warmup(settings: Any) -> None:
    settings.SEND_WARMUP_START = DAY_1
    settings.SEND_WARMUP_DAILY_START = 50


def readers(n: int, prefix: str, zone: str = "America/New_York") -> list[Lead]:
    return Lead.objects.bulk_create([Lead(email=f"{prefix}{i}@example.com", first_name=f"R{i}",
                                          status=Lead.Status.SUBSCRIBED, time_zone=zone) for i in range(n)])


def welcomes(leads: list[Lead], due: list[datetime]) -> list[ScheduledEmail]:
    return ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome", send_at=at)
                                               for lead, at in zip(leads, due, strict=True)])


def sent_to() -> list[str]:
    return [message.to[0] for message in mail.outbox]


def staff(user: Any) -> Client:
    """Signed in on the test's clock (a session from before it moved would have expired)."""
    client = Client()
    client.force_login(user)
    return client


def local(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


def test_the_cap_doubles_each_day_and_the_rest_wait_for_their_morning_oldest_first(
        clock: Any, admin_user: Any, transactional_template: str) -> None:
    assert [warmup_cap(DAY_1 + timedelta(days=n)) for n in range(4)] == [50, 100, 200, 400]
    c = clock(NY_MORNING)
    # Mail first due on day 2's New York morning, queued before everything else (lower row ids).
    fresh = readers(100, "fresh")
    welcomes(fresh, [NY_MORNING + timedelta(days=1)] * 100)
    # Day 1: 70 New Yorkers due over the last 80 minutes, oldest first, then 10 Berliners due in the last 10.
    new_york = readers(70, "ny")
    berlin = readers(10, "berlin", zone="Europe/Berlin")
    welcomes(new_york, [NY_MORNING - timedelta(minutes=80 - i) for i in range(70)])
    welcomes(berlin, [NY_MORNING - timedelta(minutes=10 - i) for i in range(10)])
    email_queue(lead=new_york[69], step=transactional_template, key="receipt-1")
    # The last New Yorker's day 1 was due on day 2's morning: it moves on with the welcome, one email a morning.
    day_one = ScheduledEmail.objects.create(lead=new_york[69], step="day-1", send_at=NY_MORNING + timedelta(days=1))

    dispatch.dispatch_due()
    # Day 1: the 50 due longest; the receipt goes too, though the cap is reached.
    assert sorted(sent_to()) == sorted([str(lead.email) for lead in new_york[:50]] + [str(new_york[69].email)])
    assert WarmupDay.objects.get(day=DAY_1).taken == 50
    held = {row.lead.email: row for row in ScheduledEmail.objects.filter(claimed_by=WARMUP_WAITING)
            .select_related("lead")}
    assert len(held) == 30 and all(row.status == Status.SCHEDULED for row in held.values())
    # Each waits for their own next morning at 8:00, a moment ahead of the mail first due then.
    assert {local(held[lead.email].send_at, "America/New_York") for lead in new_york[50:]} == {"2027-03-03 07:59"}
    assert {local(held[lead.email].send_at, "Europe/Berlin") for lead in berlin} == {"2027-03-03 07:59"}
    assert {held[lead.email].send_at for lead in berlin} == {datetime(2027, 3, 3, 7, 0, tzinfo=UTC)
                                                             - timedelta(microseconds=1)}
    day_one.refresh_from_db()
    assert local(day_one.send_at, "America/New_York") == "2027-03-04 08:00"

    # Later on day 1 a reader signs up: their welcome waits too.
    c.move_to(datetime(2027, 3, 2, 22, 0, tzinfo=UTC))
    evening = readers(1, "evening")
    welcomes(evening, [c.now])
    dispatch.dispatch_due()
    assert len(mail.outbox) == 51
    page = staff(admin_user).get("/admin/dashboard/").content.decode()
    assert ("Warm-up of the sending domain, day 1: today's cap is 50 marketing emails, 50 sent;\n  31 waiting for "
            "their next morning") in page

    # Day 2 (cap 100): Berlin's morning first, then New York's: those who waited before those first due then.
    mail.outbox.clear()
    c.move_to(datetime(2027, 3, 3, 7, 0, tzinfo=UTC))
    dispatch.dispatch_due()
    assert sorted(sent_to()) == sorted(str(lead.email) for lead in berlin)
    c.move_to(datetime(2027, 3, 3, 13, 0, tzinfo=UTC))
    dispatch.dispatch_due()
    waited = [str(lead.email) for lead in [*new_york[50:], *evening]]
    assert sent_to()[10:31] and sorted(sent_to()[10:31]) == sorted(waited)
    assert sent_to()[31:] == [lead.email for lead in fresh[:69]]
    assert WarmupDay.objects.get(day=DAY_1 + timedelta(days=1)).taken == 100
    assert ScheduledEmail.objects.filter(claimed_by=WARMUP_WAITING).count() == 31

    # Day 3 (cap 200): the rest.
    mail.outbox.clear()
    c.move_to(datetime(2027, 3, 4, 13, 0, tzinfo=UTC))
    dispatch.dispatch_due()
    assert sent_to() == [lead.email for lead in fresh[69:]] + [new_york[69].email]  # those who waited first
    assert not ScheduledEmail.objects.filter(status=Status.SCHEDULED).exists()


def test_without_a_start_date_nothing_is_capped(settings: Any, clock: Any, admin_user: Any) -> None:
    settings.SEND_WARMUP_START = None
    clock(NY_MORNING)
    welcomes(readers(120, "r"), [NY_MORNING] * 120)
    dispatch.dispatch_due()
    assert len(mail.outbox) == 120 and not WarmupDay.objects.exists()
    assert 'id="warmup"' not in staff(admin_user).get("/admin/dashboard/").content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dispatchers_at_once_never_send_more_than_the_cap(settings: Any) -> None:
    settings.SEND_WARMUP_START = timezone.now().date()
    settings.DRIP_BATCH_SIZE = 10
    welcomes(readers(200, "r"), [timezone.now() - timedelta(minutes=1)] * 200)
    start = threading.Barrier(4)

    def dispatcher() -> None:
        try:
            start.wait()
            dispatch.dispatch_due()
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(mail.outbox) == 50
    assert ScheduledEmail.objects.filter(status=Status.SENT).count() == 50
    assert ScheduledEmail.objects.filter(status=Status.SCHEDULED, claimed_by=WARMUP_WAITING).count() == 150

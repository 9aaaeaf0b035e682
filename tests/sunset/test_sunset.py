"""The sunset (emails/sunset.py) through the real dispatcher, the real click redirect and the preferences page, with
the beat task run by hand and the clock moved by time-machine: a silent reader is asked once, becomes inactive
after the grace without a click, and a person's click or a preferences save revives them; a scanner's GET does
not. A buyer is never touched: their practice reminders and sign-in links go on, as does an inactive reader's
transactional mail."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from emails.content.timing import sequence_settings_save, sequence_timing_forget
from emails.dispatch import dispatch_due
from emails.models import ScheduledEmail
from emails.sunset import sunset_run
from emails.tasks import sunset_run as sunset_task
from funnel.checkout.signin import signin_mail_to_buyer
from funnel.dashboard.timeline import lead_timeline
from leads import tokens
from leads.models import Lead, SunsetChange
from leads.services import lead_make_customer
from leads.sunset import sunset_counts

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"
SCANNER = "Mozilla/5.0 (compatible; Microsoft Office SafeLinks; +https://aka.ms/safelinks)"
NOTICE = "not medical advice"


@pytest.fixture(autouse=True)
def _sending(settings: Any) -> Iterator[None]:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.DRIP_KICK_ON_QUEUE = False
    settings.DRIP_SEND_HOUR = 8
    settings.DRIP_DAY_SECONDS = 86400
    sequence_timing_forget()
    yield
    sequence_timing_forget()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at
        self._travel = time_machine.travel(at, tick=False)
        self._travel.start()

    def advance(self, delta: timedelta) -> None:
        self._travel.stop()
        self.now += delta
        self._travel = time_machine.travel(self.now, tick=False)
        self._travel.start()

    def stop(self) -> None:
        self._travel.stop()


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock(START)
    yield c
    c.stop()


def reader(name: str, *, confirmed_days_ago: int = 90, **fields: Any) -> Lead:
    return Lead.objects.create(email=f"{name}@example.com", first_name=name.title(), status=Lead.Status.SUBSCRIBED,
                               time_zone="America/New_York", created_at=START - timedelta(days=confirmed_days_ago),
                               confirmed_at=START - timedelta(days=confirmed_days_ago), **fields)


def send(lead: Lead, *steps: str) -> None:
    """Marketing rows due now, sent by the real dispatcher."""
    for step in steps:
        ScheduledEmail.objects.create(lead=lead, step=step, send_at=START - timedelta(days=30))
    dispatch_due()


def mail_to(lead: Lead) -> list[Any]:
    return [m for m in mail.outbox if m.to == [lead.email]]


def steps_to(lead: Lead) -> list[str]:
    return [m.tags[0] for m in mail_to(lead)]


def state(lead: Lead) -> tuple[bool, bool]:
    lead.refresh_from_db()
    return lead.sunset_asked_at is not None, lead.inactive_since is not None


def keep_link(message: Any) -> str:
    """The path of the email's "yes, keep me" link (the first tracked link of its text part)."""
    url = re.findall(r"https?://[^\s)>\]]+/c/[^\s)>\]/]+/", message.body)[0]
    return "/" + url.split("/", 3)[3]


def walk(clock: Clock, days: float) -> None:
    """Beat, hour by hour: the dispatcher every tick, the sunset task too."""
    for _ in range(int(days * 24)):
        clock.advance(timedelta(hours=1))
        sunset_task.run()
        dispatch_due()


def test_a_silent_reader_is_asked_once_stopped_after_the_grace_and_revived_by_a_click(clock: Clock) -> None:
    sequence_settings_save(send_hour=None, days_between_steps=1, user=None, sunset_after_emails=3)
    silent, clicker, young = reader("silent"), reader("clicker"), reader("young", confirmed_days_ago=20)
    buyer = reader("buyer")
    lead_make_customer(lead=buyer)
    for lead in (silent, clicker, young, buyer):
        send(lead, "welcome", "day-1", "day-2")
    client = Client()
    with time_machine.travel(START + timedelta(hours=2), tick=False):  # well after delivery: a person
        response = client.get(keep_link(mail_to(clicker)[-1]),
                              headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert Lead.objects.get(pk=clicker.pk).marketing_since_click == 0
    assert [Lead.objects.get(pk=lead.pk).marketing_since_click for lead in (silent, young, buyer)] == [3, 3, 3]

    clock.advance(timedelta(hours=3))
    assert sunset_run() == {"asked": 1, "inactive": 0}  # not the clicker, the young reader, the buyer
    assert sunset_run() == {"asked": 0, "inactive": 0}
    (row,) = ScheduledEmail.objects.filter(lead=silent, step__startswith="sunset")
    assert row.step == "sunset-1" and row.stream == ScheduledEmail.Stream.MARKETING
    # On the reader's next morning (08:00 in New York), through the normal dispatcher, once.
    assert row.send_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    walk(clock, 1)
    (question,) = [m for m in mail_to(silent) if m.tags[0] == "sunset-1"]
    assert question.subject == "Do you still want these emails?"
    html = question.alternatives[0][0]
    assert NOTICE in question.body and NOTICE in html and question.extra_headers["List-Unsubscribe"]
    assert "Yes, keep sending me these emails" in html
    assert state(silent) == (True, False)

    # Seven days without an answer (the grace counts from the sending): inactive.
    walk(clock, 6.5)
    assert state(silent) == (True, False)
    walk(clock, 1)
    assert state(silent) == (False, True)
    assert steps_to(silent).count("sunset-1") == 1  # asked once in the whole cycle

    # Marketing stops; a buyer's practice reminder and sign-in link, and the inactive reader's own request for a
    # privacy link (transactional), all go.
    before = len(mail.outbox)
    for lead in (silent, buyer):
        ScheduledEmail.objects.create(lead=lead, step="day-3", send_at=clock.now)
    signin_mail_to_buyer(email=buyer.email or "", step="signin")
    token = tokens.sign("preferences", {"lead": silent.pk})
    assert Client().post(reverse("preferences-export", args=[token])).status_code == 200
    dispatch_due()
    outbox: list[Any] = mail.outbox[before:]
    sent_now = {(m.to[0], m.tags[0]) for m in outbox}
    assert sent_now == {(buyer.email, "day-3"), (buyer.email, "signin"), (silent.email, "privacy-link")}
    practice = next(m for m in outbox if m.tags[0] == "day-3")
    assert "open the app: it times every hold" in practice.body  # the buyer's practice reminder
    assert ScheduledEmail.objects.get(lead=silent, step="day-3").skip_reason == "inactive"
    assert sunset_counts() == {"inactive": 1, "asked": 0, "revived": 0}

    # A scanner fetching the link revives nobody; the reader's own click does.
    with time_machine.travel(clock.now + timedelta(minutes=1), tick=False):
        client.get(keep_link(question), headers={"User-Agent": SCANNER})
        client.head(keep_link(question), headers={"User-Agent": BROWSER})
    assert state(silent) == (False, True)
    clock.advance(timedelta(minutes=5))
    page = client.get(keep_link(question), headers={"User-Agent": BROWSER})
    assert page.status_code == 200 and b"tag-link-form" in page.content  # the button; the tag waits for a press
    assert state(silent) == (False, False)
    assert sunset_counts() == {"inactive": 0, "asked": 0, "revived": 1}
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    staff = Client()
    staff.login(username="ops", password="pw")
    dashboard = staff.get(reverse("admin-dashboard"), {"fresh": "1"}).content.decode()
    assert '<dd id="sunset-inactive">0</dd>' in dashboard and '<dd id="sunset-revived">1</dd>' in dashboard
    assert [c.action for c in SunsetChange.objects.filter(lead=silent)] == ["asked", "inactive", "revived"]
    titles = [e.title for e in lead_timeline(lead=silent) if e.kind == "sunset"]
    assert titles[-1] == "Active again: marketing mail resumed"

    # Active again: marketing mail goes, and the count starts from 0.
    ScheduledEmail.objects.create(lead=silent, step="day-4", send_at=clock.now)
    dispatch_due()
    assert steps_to(silent)[-1] == "day-4"
    assert Lead.objects.get(pk=silent.pk).marketing_since_click == 1
    assert "sunset-silent-readers" in django_settings.CELERY_BEAT_SCHEDULE


def test_a_click_within_the_grace_keeps_the_reader_and_a_preferences_save_revives(clock: Clock) -> None:
    sequence_settings_save(send_hour=None, days_between_steps=1, user=None, sunset_after_emails=3,
                           sunset_grace_days=2)
    keen, quiet = reader("keen"), reader("quiet")
    for lead in (keen, quiet):
        send(lead, "welcome", "day-1", "day-2")
    assert sunset_run()["asked"] == 2
    walk(clock, 1)
    question = next(m for m in mail_to(keen) if m.tags[0] == "sunset-1")
    # The reader presses the button behind the link (a CSRF-checked POST): kept, tagged, never inactive.
    client = Client(enforce_csrf_checks=True)
    page = client.get(keep_link(question), headers={"User-Agent": BROWSER})
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert csrf is not None
    client.post(keep_link(question), {"csrfmiddlewaretoken": csrf.group(1).decode()})
    walk(clock, 3)
    assert state(keen) == (False, False) and state(quiet) == (False, True)
    assert [c.action for c in SunsetChange.objects.filter(lead=keen)] == ["asked", "kept"]
    assert Lead.objects.get(pk=keen.pk).tags.filter(name="keep-emails").exists()

    # The inactive reader saves their preferences: active again, recorded with what they did.
    token = tokens.sign("preferences", {"lead": quiet.pk})
    page = Client().get(reverse("preferences", args=[token]))
    assert b"Yes, keep sending me emails" in page.content
    response = Client().post(reverse("preferences", args=[token]), {"action": "keep"})
    assert response.status_code == 302
    assert state(quiet) == (False, False)
    revived = SunsetChange.objects.filter(lead=quiet).last()
    assert revived is not None and revived.action == "revived" and "preferences" in revived.reason
    # A new cycle later asks again, with a row of its own (one per reader per cycle).
    send(quiet, "day-3", "day-4", "day-5")
    assert sunset_run()["asked"] == 1
    assert sorted(ScheduledEmail.objects.filter(lead=quiet, step__startswith="sunset")
                  .values_list("step", flat=True)) == ["sunset-1", "sunset-2"]

"""Issue 22 item 2: the automatic brake, driven by Postmark's complaint and bounce webhooks.

Marketing mail goes out through the real dispatcher and anymail's real Postmark backend to a fake Postmark; spam
complaints and hard bounces come back as Postmark's webhook payloads, posted to anymail's endpoint with the basic
auth it checks. Staff are emailed through the same backend (Postmark's transactional stream).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from emails import dispatch
from emails.deliverability.models import SendingBrake
from emails.models import ScheduledEmail
from emails.services import email_queue
from leads.models import Lead
from tests.conftest import wait_until
from tests.deliverability.postmark_events import address, report
from tests.drip.fake_esp import FakePostmark, point_anymail_at

pytestmark = [pytest.mark.django_db]
START = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
STAFF = "ops@painreset.example"
Status = ScheduledEmail.Status


@pytest.fixture
def esp(settings: Any) -> Iterator[FakePostmark]:
    with FakePostmark() as fake:
        point_anymail_at(settings, fake)
        # These tests count every email: a busy machine must not turn a slow answer into a timeout (`unknown`).
        settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 10}
        settings.STAFF_ALERT_EMAIL = [STAFF]
        yield fake


@pytest.fixture
def now(clock: Any) -> Any:
    return clock(START)


def readers(n: int, prefix: str = "r") -> list[Lead]:
    return Lead.objects.bulk_create([Lead(email=f"{prefix}{i}@example.com", first_name=f"R{i}",
                                          status=Lead.Status.SUBSCRIBED, time_zone="America/New_York")
                                     for i in range(n)])


def queue_welcomes(leads: list[Lead], at: datetime) -> None:
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step="welcome", send_at=at) for lead in leads])


def send_due(lane: str = dispatch.ALL) -> int:
    return dispatch.dispatch_due(lane=lane)


def marketing(esp: FakePostmark, settings: Any) -> list[dict[str, Any]]:
    return [m for m in esp.accepted if m.get("MessageStream") == settings.POSTMARK_MARKETING_STREAM]


def staff_mail(esp: FakePostmark) -> list[dict[str, Any]]:
    return [m for m in esp.accepted if m["To"] == STAFF]


def complain(settings: Any, sent: dict[str, Any], at: datetime) -> None:
    report(settings, sent, "delivered", at)
    report(settings, sent, "complained", at)


def banner(client: Client) -> str:
    page = client.get("/admin/").content.decode()
    if 'id="sending-brake-banner"' not in page:
        return ""
    part = page[page.index('id="sending-brake-banner"'):]
    return " ".join(part[:part.index("</div>")].split())


def test_the_brake_engages_at_the_stop_limit_and_not_below_it(esp: FakePostmark, settings: Any, now: Any,
                                                                admin_client: Client) -> None:
    queue_welcomes(readers(1000), START)
    send_due()
    sent = marketing(esp, settings)
    assert len(sent) == 1000
    now.advance(timedelta(minutes=30))
    for message in sent[:2]:
        complain(settings, message, now.now)
    # 2 in 1,000 is 0.2 %: over Gmail's asked-for 0.1 %, under the 0.3 % where providers reject. Mail flows.
    assert not SendingBrake.objects.exists() and banner(admin_client) == "" and staff_mail(esp) == []

    complain(settings, sent[2], now.now)  # 3 in 1,000: exactly the stop limit
    brake = SendingBrake.objects.get()
    assert (brake.engaged, brake.cause, brake.sent, brake.complaints) == (True, "complaints", 1000, 3)
    assert banner(admin_client) == (
        'id="sending-brake-banner"> <strong>Marketing email is paused</strong> since 2027-03-02 15:30 UTC: '
        "3 spam complaints in the last 1000 marketing emails (0.30%, stop limit 0.3%). Transactional mail still "
        'goes out; marketing emails wait, none is lost. <a href="/admin/sending-brake/">Review and resume '
        "sending</a>")
    assert "Marketing email is paused" in admin_client.get("/admin/leads/lead/").content.decode()  # every page

    complain(settings, sent[3], now.now)  # more complaints, more judgements: still one engagement, one email
    queue_welcomes(readers(5, prefix="late"), now.now)
    send_due()
    assert SendingBrake.objects.count() == 1 and len(marketing(esp, settings)) == 1000
    [alert] = staff_mail(esp)
    assert alert["Subject"] == ("Marketing email paused: 3 spam complaints in the last 1000 marketing emails "
                                "(0.30%, stop limit 0.3%)")
    assert "resume sending from the admin" in alert["TextBody"]
    assert alert["MessageStream"] == settings.POSTMARK_TRANSACTIONAL_STREAM


def test_the_brake_waits_for_200_sends(esp: FakePostmark, settings: Any, now: Any) -> None:
    leads = readers(200)
    queue_welcomes(leads[:199], START)
    send_due()
    complain(settings, marketing(esp, settings)[0], now.now)  # 1 in 199: 0.5 %, but too few sent to judge
    assert not SendingBrake.objects.exists()

    queue_welcomes(leads[199:], now.now)
    send_due()  # the 200th: the dispatcher judges the window after its batch
    brake = SendingBrake.objects.get()
    assert (brake.sent, brake.complaints, brake.cause) == (200, 1, "complaints")
    assert len(staff_mail(esp)) == 1


def test_hard_bounces_engage_it_at_their_own_limit(esp: FakePostmark, settings: Any, now: Any) -> None:
    queue_welcomes(readers(200), START)
    send_due()
    sent = marketing(esp, settings)
    for message in sent[:9]:  # 4.5 %: over the 2 % warning, under the 5 % stop
        report(settings, message, "hard bounce", now.now)
    report(settings, sent[9], "soft bounce", now.now)  # a full mailbox is not a hard bounce
    assert not SendingBrake.objects.exists()
    report(settings, sent[10], "hard bounce", now.now)  # 10 in 200: 5 %
    brake = SendingBrake.objects.get()
    assert (brake.cause, brake.hard_bounces, brake.sent, brake.threshold) == ("hard_bounces", 10, 200, 0.05)
    assert staff_mail(esp)[0]["Subject"].startswith("Marketing email paused: 10 hard bounces in the last 200")


def test_while_braked_marketing_waits_in_every_dispatcher_and_transactional_mail_goes_out_until_staff_resume(
        esp: FakePostmark, settings: Any, now: Any, admin_client: Client, marketer: User, monkeypatch: Any,
        transactional_template: str) -> None:
    queue_welcomes(readers(200), START)
    send_due()
    complain(settings, marketing(esp, settings)[0], now.now)
    assert SendingBrake.objects.get().engaged

    # More mail becomes due: thirty welcomes and a buyer's receipt.
    waiting = readers(30, prefix="new")
    queue_welcomes(waiting, now.now)
    email_queue(lead=waiting[0], step=transactional_template, key="receipt-1")
    now.advance(timedelta(minutes=10))  # past the transactional lane's fallback too
    for worker, lane in (("host-a:101", dispatch.MARKETING_LANE), ("host-b:202", dispatch.ALL),
                         ("host-b:203", dispatch.TRANSACTIONAL_LANE)):
        monkeypatch.setattr(dispatch, "_worker_name", lambda worker=worker: worker)
        send_due(lane)
    assert [m["Tag"] for m in esp.accepted[200:] if m["To"] != STAFF] == [transactional_template]
    assert ScheduledEmail.objects.filter(lead__in=waiting, step="welcome", status=Status.SCHEDULED).count() == 30

    # Staff with view rights only see the page and the figures, and cannot press the button.
    viewer = Client()
    viewer.force_login(marketer)
    page = viewer.get("/admin/sending-brake/").content.decode()
    assert "1 / 200" in page and "Resume marketing email" not in page and "Only staff allowed" in page
    assert viewer.post("/admin/sending-brake/", {"reason": "looked fine to me"}).status_code == 403
    assert SendingBrake.objects.get().engaged

    # Staff who may change it must say why.
    page = admin_client.post("/admin/sending-brake/", {"reason": ""}).content.decode()
    assert "This field is required." in page and SendingBrake.objects.get().engaged
    reason = "The complaint came from a reader who signed up twice; list checked."
    response = admin_client.post("/admin/sending-brake/", {"reason": reason})
    assert response.status_code == 302
    brake = SendingBrake.objects.get()
    assert not brake.engaged and brake.released_at == now.now and brake.release_reason == reason
    assert brake.released_by is not None and brake.released_by.username == "admin"
    assert (brake.released_sent, brake.released_complaints) == (200, 1)
    history = admin_client.get("/admin/sending-brake/").content.decode()
    assert reason in history and "1 complaints, 0 hard bounces in 200" in history
    assert banner(admin_client) == ""

    send_due(dispatch.MARKETING_LANE)  # the rows that waited go out, none lost, none twice
    assert sorted(address(m) for m in marketing(esp, settings)[200:]) == sorted(str(lead.email) for lead in waiting)
    # The window starts after the resume: the old complaint does not stop the mail again, and no one is emailed.
    assert SendingBrake.objects.count() == 1 and len(staff_mail(esp)) == 1


def test_the_brake_page_is_for_staff_with_the_view_permission(client: Client, db: None) -> None:
    assert client.get("/admin/sending-brake/").status_code == 302  # to the admin's login
    no_rights = User.objects.create_user("sam", "sam@example.com", "pw", is_staff=True)
    client.force_login(no_rights)
    assert client.get("/admin/sending-brake/").status_code == 403


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_process_honours_the_brake_and_sends_once_staff_resume(
        esp: FakePostmark, settings: Any, celery_worker_process: Any, worker_env: dict[str, str],
        admin_client: Client, transactional_template: str) -> None:
    from emails.tasks import dispatch_due as dispatch_due_task

    now = timezone.now()
    queue_welcomes(readers(200), now - timedelta(seconds=1))
    send_due()  # this process is one dispatcher…
    complain(settings, marketing(esp, settings)[0], timezone.now())
    assert SendingBrake.objects.get().engaged

    waiting = readers(20, prefix="new")
    queue_welcomes(waiting, now)
    # A receipt its own lane left waiting: the marketing lane takes it (DRIP_TRANSACTIONAL_FALLBACK_SECONDS).
    receipt = email_queue(lead=waiting[0], step=transactional_template, key="receipt-1")
    ScheduledEmail.objects.filter(pk=receipt.pk).update(send_at=now - timedelta(minutes=5))
    worker_env.update({"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                       "ANYMAIL_POSTMARK_SERVER_TOKEN": "test-token", "ANYMAIL_POSTMARK_API_URL": esp.url,
                       "DRIP_KICK_ON_QUEUE": "false", "STAFF_ALERT_EMAIL": STAFF})
    dispatch_due_task.app.control.purge()
    celery_worker_process.start()  # …and a worker in another process is the second
    dispatch_due_task.delay()  # what beat fires: the marketing lane
    wait_until(lambda: ScheduledEmail.objects.filter(pk=receipt.pk, status=Status.SENT).exists(), timeout=30,
               what="the worker to send the receipt")
    # The receipt's claim would have taken the due welcomes with it: none was claimed, none reached Postmark.
    assert ScheduledEmail.objects.filter(lead__in=waiting, step="welcome", status=Status.SCHEDULED).count() == 20
    assert len(marketing(esp, settings)) == 200

    assert admin_client.post("/admin/sending-brake/", {"reason": "Cause found: a test list; removed."}
                             ).status_code == 302
    dispatch_due_task.delay()
    wait_until(lambda: len(marketing(esp, settings)) == 220, timeout=30, what="the waiting welcomes to go out")
    assert sorted(address(m) for m in marketing(esp, settings)[200:]) == sorted(str(lead.email) for lead in waiting)
    assert len(staff_mail(esp)) == 1

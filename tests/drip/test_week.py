"""A whole week, with the clock moved by time-machine and the dispatcher run like beat every 15 minutes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail

from emails.models import SEQUENCE_STEPS, ScheduledEmail
from emails.services import email_queue, sequence_enrol
from leads.models import Lead
from leads.services import lead_make_customer, lead_pause, lead_unsubscribe

from .conftest import rows, run_dispatcher, sent_to, walk

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)  # New York changes to summer time on 8 March


def sent_at(row: ScheduledEmail) -> datetime:
    assert row.sent_at is not None, row
    return row.sent_at


def steps_sent(lead: Lead) -> list[str]:
    return [m.tags[0] for m in sent_to(lead)]


def test_one_welcome_and_seven_reminders_at_each_readers_local_morning(clock, make_lead) -> None:  # type: ignore[no-untyped-def]
    c = clock(START)
    zones = ["America/New_York", "Asia/Kathmandu", "Pacific/Honolulu", "Europe/London", "Australia/Sydney"]
    leads = [make_lead(time_zone=z) for z in zones]
    for lead in leads:
        assert sequence_enrol(lead=lead) == 8
        assert sequence_enrol(lead=lead) == 0  # idempotent
    run_dispatcher()
    assert {m.to[0] for m in mail.outbox} == {lead.email for lead in leads}  # welcomes went out at once

    walk(c, until=START + timedelta(days=9))

    for lead in leads:
        assert steps_sent(lead) == SEQUENCE_STEPS, lead.time_zone
        zone = ZoneInfo(lead.time_zone)
        schedule = rows(lead)
        assert all(r.status == ScheduledEmail.Status.SENT and r.esp_message_id for r in schedule.values())
        local = [sent_at(schedule[f"day-{n}"]).astimezone(zone) for n in range(1, 8)]
        assert [(t.hour, t.minute) for t in local] == [(8, 0)] * 7, lead.time_zone
        assert [(b.date() - a.date()).days for a, b in zip(local, local[1:], strict=False)] == [1] * 6
        assert sent_at(schedule["day-1"]) - sent_at(schedule["welcome"]) >= timedelta(hours=12)
    # The New York reader's mornings crossed the DST change: same local hour, one hour earlier in UTC.
    ny = rows(leads[0])
    assert sent_at(ny["day-2"]).hour == 13 and sent_at(ny["day-3"]).hour == 12


def test_nothing_after_unsubscribe_bounce_or_complaint(clock, make_lead, transactional_template) -> None:  # type: ignore[no-untyped-def]
    c = clock(START)
    unsubscriber, bouncer, complainer, control = (make_lead() for _ in range(4))
    for lead in (unsubscriber, bouncer, complainer, control):
        sequence_enrol(lead=lead)
    run_dispatcher()

    def on_tick(now: datetime) -> None:
        if now == START + timedelta(days=2, hours=6):  # after day-2 went out
            assert steps_sent(control) == ["welcome", "day-1", "day-2"]
            lead_unsubscribe(lead=unsubscriber)
            for lead, kind in ((bouncer, "bounced"), (complainer, "complained")):
                row = rows(lead)["day-2"]
                tracking.send(sender=object, esp_name="Test", event=AnymailTrackingEvent(
                    event_type=kind, event_id=f"evt-{kind}", message_id=row.esp_message_id,
                    metadata={"row_id": str(row.pk), "lead_id": str(lead.pk)}, recipient=lead.email))

    walk(c, until=START + timedelta(days=9), on_tick=on_tick)

    assert steps_sent(control) == SEQUENCE_STEPS
    for lead, reason in ((unsubscriber, "unsubscribed"), (bouncer, "hard_bounce"), (complainer, "complaint")):
        assert steps_sent(lead) == ["welcome", "day-1", "day-2"]
        later = [rows(lead)[f"day-{n}"] for n in range(3, 8)]
        assert {(r.status, r.skip_reason) for r in later} == {(ScheduledEmail.Status.SKIPPED, reason)}

    # Transactional mail ignores marketing opt-outs (complaint, unsubscribe), but not a hard bounce.
    mail.outbox.clear()
    for lead in (unsubscriber, bouncer, complainer):
        email_queue(lead=lead, step="test-receipt", key="r1")
    run_dispatcher()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([unsubscriber.email, complainer.email])
    assert mail.outbox[0].from_email.endswith("<account@painreset.example>")
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers


def test_pause_moves_the_rest_of_the_week_and_keeps_one_email_a_morning(clock, make_lead) -> None:  # type: ignore[no-untyped-def]
    c = clock(START)
    lead = make_lead(time_zone="Asia/Kathmandu")
    sequence_enrol(lead=lead)
    run_dispatcher()
    paused_at: list[datetime] = []

    def on_tick(now: datetime) -> None:
        if not paused_at and steps_sent(lead) == ["welcome", "day-1", "day-2"]:
            lead_pause(lead=lead, days=3)
            paused_at.append(now)

    walk(c, until=START + timedelta(days=14), on_tick=on_tick)

    lead.refresh_from_db()
    assert steps_sent(lead) == SEQUENCE_STEPS
    schedule = rows(lead)
    zone = ZoneInfo("Asia/Kathmandu")
    resumed = [sent_at(schedule[f"day-{n}"]) for n in range(3, 8)]
    assert resumed[0] >= lead.paused_until  # nothing while paused
    local = [t.astimezone(zone) for t in resumed]
    assert [(t.hour, t.minute) for t in local] == [(8, 0)] * 5
    assert [(b.date() - a.date()).days for a, b in zip(local, local[1:], strict=False)] == [1] * 4
    # ...and it resumes on the first morning after the pause ends.
    assert resumed[0] - lead.paused_until < timedelta(days=1)


def test_buyers_get_the_app_instead_of_the_upgrade_and_keep_their_week(clock, make_lead) -> None:  # type: ignore[no-untyped-def]
    c = clock(START)
    buyer = make_lead()
    sequence_enrol(lead=buyer)
    run_dispatcher()

    def on_tick(now: datetime) -> None:
        if now == START + timedelta(days=2, hours=6):
            lead_make_customer(lead=buyer)

    walk(c, until=START + timedelta(days=9), on_tick=on_tick)

    messages = {m.tags[0]: m for m in sent_to(buyer)}
    assert list(messages) == SEQUENCE_STEPS  # buying does not stop the week
    for step in ("day-1", "day-2"):
        text = messages[step].body
        assert "$9.97" in text and "Open today's session" not in text
    for step in ("day-3", "day-7"):
        text, html = messages[step].body, messages[step].alternatives[0][0]
        assert "Open today's session" in text and "Open today's session" in html.replace("&#x27;", "'")
        assert "9.97" not in text and "9.97" not in html

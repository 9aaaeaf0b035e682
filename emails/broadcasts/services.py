"""Writes for broadcasts: create one (with its first copy), schedule it (its rows, in one INSERT … SELECT), cancel it.

Scheduling makes one ScheduledEmail row per reader of the audience (emails.broadcasts.selectors), step
`broadcast-<id>`, marketing stream: from then on it is mail like any other. The dispatcher sends each row once
(UNIQUE(lead, step)), re-checks the reader first (unsubscribed, suppressed, complaining, paused: skipped), renders
the step's published copy in the layout (footer, notice, `{{ if buyer }}`) and keeps the ESP's rate.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Case, DateTimeField, Expression, Value, When
from django.utils import timezone

from emails.broadcasts.models import Broadcast
from emails.broadcasts.selectors import broadcast_audience, broadcast_rows
from emails.content.checks import copy_problems
from emails.content.models import EmailCopy
from emails.content.services import copy_publish
from emails.content.text import CopyText, text_of
from emails.models import ScheduledEmail
from emails.schedule import local_morning_utc, reader_zone
from emails.segments.models import Segment
from emails.services import dispatcher_kick
from leads.db import insert_for_each_unless_conflict

# Where a new broadcast's copy starts: the editor's vocabulary, with nothing a reader should ever receive as is.
STARTER_BODY = """Hello{{ if first_name }}, {{ first_name }}{{ end }}.

Write your message here.

Talk soon,\\
The Pain Reset team
"""
# The earliest clock on Earth (UTC+14): a local hour that has not come there has not come anywhere.
EARLIEST_ZONE = ZoneInfo("Etc/GMT-14")


class BroadcastRefused(ValueError):
    """Scheduling or cancelling is not possible now; the message says why, in the marketer's words."""


class CountChanged(BroadcastRefused):
    """The audience changed since its count was shown: the marketer confirms the new count."""

    def __init__(self, count: int) -> None:
        super().__init__(f"The segment now has {count} readers who can be mailed, not the number you confirmed. "
                         "Check the new count and confirm again.")
        self.count = count


@dataclass(frozen=True)
class SendTime:
    """When a broadcast goes out: `timing` with the moment (now, at) or the local date and hour (local)."""

    timing: str
    at: datetime | None = None
    local_date: date | None = None
    local_hour: int | None = None


@transaction.atomic
def broadcast_create(*, name: str, segment: Segment, user: Any = None) -> Broadcast:
    """A draft broadcast and the first version of its copy (the step `broadcast-<id>` in the copy editor)."""
    broadcast = Broadcast.objects.create(name=name.strip()[:100], segment=segment,
                                         created_by=user if getattr(user, "pk", None) else None)
    copy_publish(step=broadcast.step, text=CopyText(subject=broadcast.name, preheader="", body=STARTER_BODY),
                 origin=EmailCopy.Origin.EDITOR, user=user, note="new broadcast")
    return broadcast


def _send_times(audience_zones: list[str], when: SendTime, now: datetime) -> dict[str, datetime]:
    """The UTC send time per time zone name found in the audience; one entry, '', for a single moment."""
    if when.timing == Broadcast.Timing.NOW:
        return {"": now}
    if when.timing == Broadcast.Timing.AT:
        if when.at is None or when.at <= now:
            raise BroadcastRefused("That moment has passed: choose a later one, or send now.")
        return {"": when.at}
    if when.local_date is None or when.local_hour is None:
        raise BroadcastRefused("Choose the date and the hour on each reader's clock.")
    if local_morning_utc(when.local_date, EARLIEST_ZONE, when.local_hour) <= now:
        raise BroadcastRefused(f"{when.local_hour}:00 on {when.local_date} has already come for some readers: "
                               "choose a later date so that every reader gets it at that hour.")
    return {name: local_morning_utc(when.local_date, reader_zone(name), when.local_hour) for name in audience_zones}


def _send_at_expression(times: dict[str, datetime], when: SendTime) -> Expression:
    """Each reader's send time, chosen by their time zone in SQL: one CASE over the zones of the audience."""
    field: DateTimeField[datetime, datetime] = DateTimeField()
    if "" in times:
        return Value(times[""], output_field=field)
    assert when.local_date is not None and when.local_hour is not None  # noqa: S101 - _send_times checked
    # A reader whose zone changed after the zones were read: the hour in the zone readers without one get.
    default = local_morning_utc(when.local_date, reader_zone(None), when.local_hour)
    return Case(*[When(time_zone=name, then=Value(at, output_field=field)) for name, at in times.items()],
                default=Value(default, output_field=field), output_field=field)


@transaction.atomic
def broadcast_schedule(*, broadcast: Broadcast, when: SendTime, confirmed_count: int, user: Any = None,
                       now: datetime | None = None) -> int:
    """Create the broadcast's rows for its audience now, in one INSERT … SELECT. Returns the rows created.

    Refused (BroadcastRefused) when it is not a draft, its published copy is the starter text or fails the editor's
    checks, the moment has passed, or the audience is empty; CountChanged when the audience is no longer
    `confirmed_count`, so nobody sends to a number they did not see."""
    now = now or timezone.now()
    broadcast = Broadcast.objects.select_for_update().select_related("segment").get(pk=broadcast.pk)
    if broadcast.status != Broadcast.Status.DRAFT:
        raise BroadcastRefused(f"This broadcast is {broadcast.get_status_display().lower()} already.")
    published = EmailCopy.objects.newest(broadcast.step)
    if published is None or published.body == STARTER_BODY:
        raise BroadcastRefused("Its email is still the starter text: write it in the editor and publish it first.")
    if copy_problems(broadcast.step, text_of(published)):
        raise BroadcastRefused("Its published copy has problems: open the email, fix them and publish it first.")
    if confirmed_count == 0:
        raise BroadcastRefused("Nobody in this segment can be mailed.")
    audience = broadcast_audience(broadcast)
    zones = (list(audience.order_by().values_list("time_zone", flat=True).distinct())
             if when.timing == Broadcast.Timing.LOCAL else [])
    times = _send_times(zones, when, now)
    row = ScheduledEmail(step=broadcast.step, stream=ScheduledEmail.Stream.MARKETING, send_at=now, created_at=now)
    created = insert_for_each_unless_conflict(row, fk_column=ScheduledEmail._meta.get_field("lead").column,
                                              source=audience, per_row={"send_at": _send_at_expression(times, when)})
    if created != confirmed_count:
        # The statement counted the audience as it inserted (a separate COUNT would read it twice): a different
        # number rolls the rows back with this transaction.
        raise CountChanged(created)
    broadcast.status, broadcast.timing = Broadcast.Status.SCHEDULED, when.timing
    broadcast.send_at = times.get("")
    broadcast.local_date, broadcast.local_hour = when.local_date, when.local_hour
    broadcast.starts_at = min(times.values())
    broadcast.recipients = created
    broadcast.scheduled_by = user if getattr(user, "pk", None) else None
    broadcast.scheduled_at = now
    broadcast.save(update_fields=["status", "timing", "send_at", "local_date", "local_hour", "starts_at",
                                  "recipients", "scheduled_by", "scheduled_at"])
    if broadcast.starts_at <= now:
        transaction.on_commit(dispatcher_kick)
    return created


@transaction.atomic
def broadcast_cancel(*, broadcast: Broadcast, user: Any = None, now: datetime | None = None) -> int:
    """Cancel a draft, or a scheduled broadcast before its first email's time: its rows are skipped ('cancelled'),
    so nothing of it goes out. Returns the rows skipped. BroadcastRefused once it has started."""
    now = now or timezone.now()
    broadcast = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
    if not broadcast.cancellable(now):
        raise BroadcastRefused("It has started (or ended) already: a broadcast can be cancelled until its first "
                               "email's time.")
    # Rows only: one the dispatcher already claimed cannot be, since none is due before starts_at.
    skipped = broadcast_rows(broadcast).filter(status=ScheduledEmail.Status.SCHEDULED).update(
        status=ScheduledEmail.Status.SKIPPED, skip_reason="cancelled", updated_at=now)
    broadcast.status = Broadcast.Status.CANCELLED
    broadcast.cancelled_by = user if getattr(user, "pk", None) else None
    broadcast.cancelled_at = now
    broadcast.save(update_fields=["status", "cancelled_by", "cancelled_at"])
    return skipped

"""After the week: readers who finished day 7 without buying get the follow-up emails (FOLLOW_UP_STEPS).

Enrolment is a beat task, not a step of the week: it finds readers whose day 7 was sent and who had not bought by
then, and inserts one row per follow-up email (UNIQUE(lead, step), so running it twice adds nothing), at the
sequence's send hour on the reader's clock and the spacing set in the admin (emails.schedule.follow_up_send_times).
Whatever happens after that (a purchase on day 9, an unsubscribe, a pause) is read by the dispatcher before each
send (emails/after_week.py), like every other rule.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from emails.models import FOLLOW_UP_STEPS, SEQUENCE_STEPS, ScheduledEmail
from emails.schedule import follow_up_send_times
from leads.models import Lead

# Only readers whose week ended this recently: the first run after a deploy must not mail everyone who finished
# the week months ago.
FOLLOW_UP_LOOKBACK = timedelta(days=14)
ENROL_CHUNK = 1000

LAST_DAY = SEQUENCE_STEPS[-1]
Stream, Status = ScheduledEmail.Stream, ScheduledEmail.Status


def follow_up_candidates(*, now: datetime) -> list[tuple[int, str, datetime | None]]:
    """(lead id, time zone, day 7 sent at) of readers who finished the week recently, have not bought, can be
    mailed, and have no follow-up yet. One query on the sent-marketing index."""
    enrolled = ScheduledEmail.objects.filter(lead=OuterRef("lead"), step=FOLLOW_UP_STEPS[0], stream=Stream.MARKETING)
    return list(
        ScheduledEmail.objects.filter(
            stream=Stream.MARKETING, step=LAST_DAY, status=Status.SENT, sent_at__gte=now - FOLLOW_UP_LOOKBACK,
            lead__status=Lead.Status.SUBSCRIBED, lead__is_customer=False, lead__suppression="",
            lead__reminders_stopped_at__isnull=True,
        ).exclude(Exists(enrolled)).order_by("sent_at").values_list("lead_id", "lead__time_zone", "sent_at"))


@transaction.atomic
def follow_up_enrol_due(*, now: datetime | None = None) -> int:
    """Insert the follow-up rows of every candidate (see follow_up_candidates). Returns how many readers."""
    now = now or timezone.now()
    candidates = follow_up_candidates(now=now)
    for start in range(0, len(candidates), ENROL_CHUNK):
        rows = [
            ScheduledEmail(lead_id=lead_id, step=step, stream=Stream.MARKETING, send_at=send_at, created_at=now)
            for lead_id, time_zone, day_seven_at in candidates[start:start + ENROL_CHUNK] if day_seven_at
            for step, send_at in follow_up_send_times(day_seven_at=day_seven_at, time_zone=time_zone).items()
        ]
        # ignore_conflicts: two beat runs racing each other still end with one row per (lead, step).
        ScheduledEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return len(candidates)

"""When the reader's first daily reminder arrives, in words, for the welcome email.

"Starting tomorrow morning" was wrong for anyone welcomed in the evening: day 1 waits for the first morning at
least MIN_GAP_BEFORE_DAY_ONE after the welcome, which for a 21:00 confirmation is the morning after next. So the
welcome states the day and hour, on the reader's own clock, with the zone named so a wrong one is noticed.
"""

from datetime import datetime

from django.utils import dateformat

from emails.models import ScheduledEmail
from emails.schedule import reader_zone, sequence_send_times
from leads.models import Lead


def first_reminder_at(lead: Lead, welcome: ScheduledEmail) -> datetime:
    """Day 1's send time, computed as enrolment computed it (sequence_enrol gives every row of the sequence the
    welcome's `created_at` as its start): no query per welcome, and a welcome retried later still names the day
    its reader was given, not one shifted by the retry."""
    return sequence_send_times(welcome_at=welcome.created_at, time_zone=lead.time_zone)["day-1"]


def zone_label(time_zone: str) -> str:
    """ "Europe/Berlin" -> "Berlin time", "America/Argentina/Buenos_Aires" -> "Buenos Aires time", "UTC" -> "UTC"."""
    place = time_zone.rpartition("/")[2].replace("_", " ")
    return place if place.upper().startswith(("UTC", "GMT")) else f"{place} time"


def local_time_words(moment: datetime, time_zone: str | None) -> str:
    """ "Thursday, March 6, at 8 a.m. (Berlin time)": the reader's wall clock, in the words an email uses."""
    zone = reader_zone(time_zone)
    local = moment.astimezone(zone)
    # Django's "P": "8 a.m.", "8:30 a.m.", "noon", "midnight".
    return f"{dateformat.format(local, 'l, F j')}, at {dateformat.format(local, 'P')} ({zone_label(zone.key)})"


def first_reminder_words(lead: Lead, welcome: ScheduledEmail) -> str:
    return local_time_words(first_reminder_at(lead, welcome), lead.time_zone)

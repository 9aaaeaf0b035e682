"""The sequence's timing as the admin set it: the local send hour and the days between two reminders.

Read on every enrolment, so the row is cached in the process: a worker asks the database at most once every
TIMING_CACHE_SECONDS, and a save clears the cache of the process that saved it at once (other processes pick
the change up within that time). Only the stored values are cached; an empty send hour is resolved against
settings.DRIP_SEND_HOUR on each read, so the environment default stays the single fallback.

Applies to rows scheduled (or moved) after the save: rows already scheduled keep their send_at.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from emails.content.models import SequenceSettings
from leads.time_zones import register_send_hour_provider

SETTINGS_PK = 1
TIMING_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class SequenceTiming:
    send_hour: int  # local hour in the reader's zone, 0-23
    days_between_steps: int  # from one reminder to the next, 1-14
    follow_up_after_days: int = 2  # from day 7 to the first follow-up, 1-30
    follow_up_days_between: int = 3  # from one follow-up to the next, 1-30


@dataclass(frozen=True)
class _Stored:
    send_hour: int | None  # None: DRIP_SEND_HOUR
    days_between_steps: int
    follow_up_after_days: int
    follow_up_days_between: int


_FIELDS = ("send_hour", "days_between_steps", "follow_up_after_days", "follow_up_days_between")
# (read at, the stored row), or None when not read yet in this process.
_cached: tuple[float, _Stored] | None = None
_lock = threading.Lock()


def _stored() -> _Stored:
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < TIMING_CACHE_SECONDS:
            return _cached[1]
    row = SequenceSettings.objects.filter(pk=SETTINGS_PK).values(*_FIELDS).first()
    # Not saved yet: an unsaved row holds the model's defaults.
    stored = _Stored(**(row or {name: getattr(SequenceSettings(), name) for name in _FIELDS}))
    with _lock:
        _cached = (time.monotonic(), stored)
    return stored


def sequence_timing() -> SequenceTiming:
    """The timing new rows are scheduled with (cached: see the module's docstring)."""
    stored = _stored()
    return SequenceTiming(send_hour=settings.DRIP_SEND_HOUR if stored.send_hour is None else stored.send_hour,
                          days_between_steps=stored.days_between_steps,
                          follow_up_after_days=stored.follow_up_after_days,
                          follow_up_days_between=stored.follow_up_days_between)


def sequence_timing_forget() -> None:
    """Drop this process's cached timing; the next read asks the database."""
    global _cached
    with _lock:
        _cached = None


@transaction.atomic
def sequence_settings_save(*, send_hour: int | None, days_between_steps: int, user: AbstractBaseUser | None,
                           follow_up_after_days: int | None = None,
                           follow_up_days_between: int | None = None, sunset_after_emails: int | None = None,
                           sunset_subscribed_days: int | None = None,
                           sunset_grace_days: int | None = None) -> SequenceSettings:
    """Store the sequence's timing (the one row, created on first save), recording who and when. A follow-up
    spacing or sunset rule (emails/sunset.py) left out keeps its stored value."""
    follow_up = {name: value for name, value in (("follow_up_after_days", follow_up_after_days),
                                                 ("follow_up_days_between", follow_up_days_between),
                                                 ("sunset_after_emails", sunset_after_emails),
                                                 ("sunset_subscribed_days", sunset_subscribed_days),
                                                 ("sunset_grace_days", sunset_grace_days))
                 if value is not None}
    row, _ = SequenceSettings.objects.update_or_create(pk=SETTINGS_PK, defaults={
        "send_hour": send_hour, "days_between_steps": days_between_steps, **follow_up,
        "updated_by": user if user is not None and user.is_authenticated else None,
        "updated_at": timezone.now()})
    # Now for the rest of this request, and again once committed: a read between the two (inside this
    # transaction) may have cached a value that a rollback would undo.
    sequence_timing_forget()
    transaction.on_commit(sequence_timing_forget)
    return row


# `leads` shows the send hour on the preferences page but may not import `emails`: it asks through this seam.
register_send_hour_provider(lambda: sequence_timing().send_hour)

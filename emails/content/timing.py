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


# (read at, stored send hour or None, days between steps), or None when not read yet in this process.
_cached: tuple[float, int | None, int] | None = None
_lock = threading.Lock()


def _stored() -> tuple[int | None, int]:
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < TIMING_CACHE_SECONDS:
            return _cached[1], _cached[2]
    row = SequenceSettings.objects.filter(pk=SETTINGS_PK).values_list("send_hour", "days_between_steps").first()
    send_hour, days = row if row is not None else (None, SequenceSettings._meta.get_field(
        "days_between_steps").get_default())
    with _lock:
        _cached = (time.monotonic(), send_hour, days)
    return send_hour, days


def sequence_timing() -> SequenceTiming:
    """The timing new rows are scheduled with (cached: see the module's docstring)."""
    send_hour, days = _stored()
    return SequenceTiming(send_hour=settings.DRIP_SEND_HOUR if send_hour is None else send_hour,
                          days_between_steps=days)


def sequence_timing_forget() -> None:
    """Drop this process's cached timing; the next read asks the database."""
    global _cached
    with _lock:
        _cached = None


@transaction.atomic
def sequence_settings_save(*, send_hour: int | None, days_between_steps: int,
                           user: AbstractBaseUser | None) -> SequenceSettings:
    """Store the sequence's timing (the one row, created on first save), recording who and when."""
    row, _ = SequenceSettings.objects.update_or_create(pk=SETTINGS_PK, defaults={
        "send_hour": send_hour, "days_between_steps": days_between_steps,
        "updated_by": user if user is not None and user.is_authenticated else None,
        "updated_at": timezone.now()})
    # Now for the rest of this request, and again once committed: a read between the two (inside this
    # transaction) may have cached a value that a rollback would undo.
    sequence_timing_forget()
    transaction.on_commit(sequence_timing_forget)
    return row


# `leads` shows the send hour on the preferences page but may not import `emails`: it asks through this seam.
register_send_hour_provider(lambda: sequence_timing().send_hour)

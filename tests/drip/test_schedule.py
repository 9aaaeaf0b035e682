"""Send times: the reader's morning, in their zone, across DST changes and odd offsets."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from emails.schedule import local_morning_utc, sequence_send_times

REMINDERS = [f"day-{n}" for n in range(1, 8)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_new_york_across_the_spring_dst_change_keeps_8am_local() -> None:
    # 10:00 EST on Thursday 5 March 2026; clocks go forward on Sunday 8 March.
    times = sequence_send_times(welcome_at=utc(2026, 3, 5, 15), time_zone="America/New_York", hour=8,
                                days_between=1, day_seconds=86400)
    assert times["welcome"] == utc(2026, 3, 5, 15)
    assert times["day-1"] == utc(2026, 3, 6, 13)  # 08:00 EST
    assert times["day-2"] == utc(2026, 3, 7, 13)
    assert times["day-3"] == utc(2026, 3, 8, 12)  # 08:00 EDT: one hour earlier in UTC
    ny = ZoneInfo("America/New_York")
    local = [times[s].astimezone(ny) for s in REMINDERS]
    assert [(t.hour, t.minute) for t in local] == [(8, 0)] * 7
    assert [t.date().day for t in local] == [6, 7, 8, 9, 10, 11, 12]


def test_kathmandu_quarter_hour_offset() -> None:
    times = sequence_send_times(welcome_at=utc(2026, 6, 1, 0), time_zone="Asia/Kathmandu", hour=8,
                                days_between=1, day_seconds=86400)
    assert times["day-1"] == utc(2026, 6, 2, 2, 15)  # 08:00 at +05:45
    assert times["day-7"] == utc(2026, 6, 8, 2, 15)


def test_honolulu() -> None:
    times = sequence_send_times(welcome_at=utc(2026, 6, 1, 12), time_zone="Pacific/Honolulu", hour=8,
                                days_between=1, day_seconds=86400)
    assert times["day-1"] == utc(2026, 6, 2, 18)  # 08:00 at -10:00


@pytest.mark.parametrize(("local_hour", "expected_day"), [(19, 2), (20, 2), (21, 3), (5, 2), (7, 2)])
def test_first_reminder_waits_at_least_twelve_hours(local_hour: int, expected_day: int) -> None:
    # Welcomed on 1 June (London, BST). 19:00 → 08:00 next day is 13 h: fine. 21:00 → only 11 h: the day after.
    london = ZoneInfo("Europe/London")
    welcome = datetime(2026, 6, 1, local_hour, tzinfo=london)
    day_one = sequence_send_times(welcome_at=welcome, time_zone="Europe/London", hour=8,
                                  days_between=1, day_seconds=86400)["day-1"]
    assert day_one.astimezone(london) == datetime(2026, 6, expected_day, 8, tzinfo=london)
    assert day_one - welcome >= timedelta(hours=12)


def test_nonexistent_and_ambiguous_hours() -> None:
    ny = ZoneInfo("America/New_York")
    # 02:00 does not exist on 8 March 2026 in New York: the email goes at 03:00 EDT, just after the jump.
    assert local_morning_utc(datetime(2026, 3, 8).date(), ny, 2) == utc(2026, 3, 8, 7)
    # 01:00 happens twice on 1 November 2026: the first one (EDT).
    assert local_morning_utc(datetime(2026, 11, 1).date(), ny, 1) == utc(2026, 11, 1, 5)


def test_unknown_zone_falls_back_to_default(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DRIP_DEFAULT_TIME_ZONE = "Asia/Kathmandu"
    times = sequence_send_times(welcome_at=utc(2026, 6, 1, 0), time_zone="Mars/Olympus_Mons", hour=8,
                                days_between=1, day_seconds=86400)
    assert times["day-1"] == utc(2026, 6, 2, 2, 15)


def test_development_days_are_compressed() -> None:
    start = utc(2026, 6, 1, 0)
    times = sequence_send_times(welcome_at=start, time_zone="Asia/Kathmandu", hour=8, days_between=1, day_seconds=60)
    assert [times[s] - start for s in REMINDERS] == [timedelta(minutes=n) for n in range(1, 8)]


ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


@hsettings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES),
       welcome=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                            timezones=st.just(UTC)),
       hour=st.integers(min_value=0, max_value=23), days=st.integers(min_value=1, max_value=14))
def test_one_reminder_per_local_morning_in_any_zone(zone: str, welcome: datetime, hour: int, days: int) -> None:
    # Any hour and pause the admin allows: reminders `days` local dates apart, each at the hour on the wall clock.
    times = sequence_send_times(welcome_at=welcome, time_zone=zone, hour=hour, days_between=days,
                                day_seconds=86400)
    tz = ZoneInfo(zone)
    local = [times[s].astimezone(tz) for s in REMINDERS]
    dates = [t.date() for t in local]
    assert all((b - a).days == days for a, b in zip(dates, dates[1:], strict=False))
    assert times["day-1"] - welcome >= timedelta(hours=12)
    assert times["day-1"] - welcome < timedelta(hours=12 + 26)
    for t in local:
        # Exactly the send hour, unless a zone skipped that hour on that day (then just after the jump).
        nominal = datetime.combine(t.date(), time(hour), tzinfo=tz)
        skipped = nominal.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != nominal.replace(tzinfo=None)
        assert (t.hour, t.minute) == (hour, 0) or skipped

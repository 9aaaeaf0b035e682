"""Reads over the practice log: the buyer's local day, streak, 7-day plan progress and pain series."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Avg
from django.utils import timezone

from emails.schedule import reader_zone
from funnel.guide import content
from funnel.models import PracticeSession
from leads.models import Lead


def lead_today(lead: Lead, *, now: datetime | None = None) -> date:
    """Today's date where the lead lives: a session at 23:30 in Denver counts for that day, not UTC's next.
    The zone is resolved exactly as the drip resolves it, so the app's "today" is the reminder's "today"."""
    return (now or timezone.now()).astimezone(reader_zone(lead.time_zone)).date()


def _logged_days(lead: Lead, *, until: date) -> list[date]:
    """Distinct days with a logged session up to `until`, newest first."""
    return list(
        PracticeSession.objects.filter(lead=lead, local_date__lte=until)
        .order_by("-local_date").values_list("local_date", flat=True).distinct()
    )


def practice_streak(lead: Lead, *, today: date) -> int:
    """Consecutive days with a session, ending today, or yesterday if today's session is still to come
    (the streak is not broken until a whole day passes without one)."""
    return _streak(_logged_days(lead, until=today), today=today)


def _streak(days: list[date], *, today: date) -> int:
    """The streak over distinct logged days, newest first."""
    if not days or days[0] < today - timedelta(days=1):
        return 0
    streak, expected = 0, days[0]
    for day in days:
        if day != expected:
            break
        streak += 1
        expected = day - timedelta(days=1)
    return streak


@dataclass(frozen=True)
class PlanStatus:
    day: content.PlanDay
    done: bool
    is_today: bool


@dataclass(frozen=True)
class PlanProgress:
    days_done: int  # 0..7: distinct days logged, the plan advances one day per day practised
    done_today: bool
    today: content.PlanDay  # the plan day to do today (or done today)
    days: list[PlanStatus]

    @property
    def finished(self) -> bool:
        return self.days_done >= len(content.PLAN_7_DAYS)


def practice_plan_progress(lead: Lead, *, today: date) -> PlanProgress:
    """The 7-day plan moves on one day for every day with a logged session, so a missed day does not skip
    an area: you pick up where you left off."""
    days = _logged_days(lead, until=today)
    done_today = bool(days) and days[0] == today
    days_done = min(len(days), len(content.PLAN_7_DAYS))
    today_number = days_done if done_today else days_done + 1
    today_day = content.plan_day(today_number)
    statuses = [
        PlanStatus(day=day, done=day.number <= days_done,
                   is_today=day.number == today_number and (done_today or days_done < len(content.PLAN_7_DAYS)))
        for day in content.PLAN_7_DAYS
    ]
    return PlanProgress(days_done=days_done, done_today=done_today, today=today_day, days=statuses)


@dataclass(frozen=True)
class DayPain:
    day: date
    before: float | None  # the day's average when several sessions were logged
    after: float | None

    @property
    def logged(self) -> bool:
        return self.before is not None or self.after is not None


def practice_pain_series(lead: Lead, *, today: date, days: int) -> list[DayPain]:
    """One entry per day for the last `days` days (oldest first), None where nothing was logged."""
    start = today - timedelta(days=days - 1)
    rows = (
        PracticeSession.objects.filter(lead=lead, local_date__range=(start, today))
        .values("local_date").annotate(before=Avg("pain_before"), after=Avg("pain_after"))
    )
    by_day = {row["local_date"]: row for row in rows}
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        row = by_day.get(day)
        before = None if row is None or row["before"] is None else round(float(row["before"]), 1)
        after = None if row is None or row["after"] is None else round(float(row["after"]), 1)
        series.append(DayPain(day=day, before=before, after=after))
    return series


def practice_recent(lead: Lead, *, limit: int = 5) -> list[PracticeSession]:
    return list(PracticeSession.objects.filter(lead=lead).order_by("-local_date", "-created_at")[:limit])



@dataclass(frozen=True)
class ReminderFacts:
    yesterday: PracticeSession | None  # the last session logged yesterday
    logged_today: bool
    logged_ever: bool
    streak: int


def practice_reminder_facts(lead: Lead, *, today: date) -> ReminderFacts:
    """Everything a buyer's reminder says about the log, in one query: it runs for every buyer row the
    dispatcher sends, so it must not cost a query per fact."""
    sessions = list(
        PracticeSession.objects.filter(lead=lead, local_date__lte=today)
        .only("local_date", "areas", "pain_before", "pain_after", "created_at")
        .order_by("-local_date", "-created_at")
    )
    yesterday = today - timedelta(days=1)
    days = list(dict.fromkeys(session.local_date for session in sessions))  # distinct, newest first
    return ReminderFacts(
        yesterday=next((session for session in sessions if session.local_date == yesterday), None),
        logged_today=bool(days) and days[0] == today,
        logged_ever=bool(sessions),
        streak=_streak(days, today=today),
    )

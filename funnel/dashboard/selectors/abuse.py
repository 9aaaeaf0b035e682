"""The dashboard's "Bots and held confirmations" panel: the per-day counters, a handful of rows whatever the
traffic (funnel/landing/abuse.py counts them as signups happen)."""

from datetime import date

from funnel.models import SignupGuardDay


def signup_guard_days(*, start: date, end: date) -> list[SignupGuardDay]:
    """Days of the period (UTC, both ends included) with a refused or a held signup, newest first."""
    return list(SignupGuardDay.objects.filter(date__range=(start, end)).order_by("-date"))

"""What the daily reminders say about the app log, rendered at send time (registered from FunnelConfig.ready).

The provider is self-describing: `practice.message` is one sentence ready to print, so the reminder templates
need no logic of their own; the other keys are there for templates that want to say more.
"""

from typing import Any

from django.utils import timezone

from emails.context import register_context_provider
from emails.models import REMINDER_STEPS, ScheduledEmail
from funnel.guide import content
from funnel.practice import selectors
from leads.models import Lead


def _areas_text(slugs: list[str]) -> str:
    names = [content.AREAS_BY_SLUG[slug].short for slug in slugs if slug in content.AREAS_BY_SLUG]
    return " and ".join(names) or "your session"


def _streak_text(streak: int) -> str:
    return f"That makes a {streak}-day streak." if streak >= 2 else "That's day one of a new streak."


def practice_email_context(lead: Lead, row: ScheduledEmail) -> dict[str, Any]:
    """Yesterday's logged session (pain change, streak), or a gentle nudge when none was logged. Buyers only:
    free readers have no app, and their reminder keeps its upgrade link instead."""
    if not lead.is_customer:
        return {}
    facts = selectors.practice_reminder_facts(lead, today=selectors.lead_today(lead, now=timezone.now()))
    yesterday, streak = facts.yesterday, facts.streak
    if yesterday is None:
        if facts.logged_today:
            message = f"You've already logged today's session. {_streak_text(streak)}"
        elif facts.logged_ever:
            message = ("No session logged yesterday, and that's fine: one missed day doesn't undo your progress. "
                       f"One session of {content.ROUTINE_MINUTES} minutes today picks it straight back up.")
        else:
            message = ("When you do today's reset, open the app: it times every hold and the heat for you, and "
                       "tracks your pain from day to day.")
        return {"practice": {"logged": False, "pain_before": None, "pain_after": None, "streak": streak,
                             "message": message}}

    before, after = yesterday.pain_before, yesterday.pain_after
    where = _areas_text(yesterday.areas)
    if before is None or after is None:
        change = f"Yesterday you logged a session on your {where}."
    elif after < before:
        change = f"Yesterday's session on your {where} took your pain from {before} to {after}."
    elif after == before:
        change = (f"Yesterday's session on your {where} left your pain at {before}; some days move less, "
                  "and the change builds over days.")
    else:
        change = (f"Yesterday your pain went from {before} to {after} after the session on your {where}; press "
                  "more gently today, and if it keeps rising, check with your doctor.")
    return {"practice": {"logged": True, "pain_before": before, "pain_after": after, "streak": streak,
                         "areas": where, "message": f"{change} {_streak_text(streak)}"}}


register_context_provider(practice_email_context, steps=REMINDER_STEPS)

"""The segment condition schema: every kind of condition a segment may hold, how each is validated, described and
compiled to one `Q` over `Lead`.

A segment stores its conditions as JSON, a list of objects, each with a `kind` and that kind's parameters:

    {"kind": "status", "value": "subscribed" | "pending" | "confirmed" | "paused" | "inactive" | "unsubscribed"
                                 | "suppressed"}                (inactive: sunset, emails/sunset.py)
    {"kind": "purchase", "value": "bought" | "not_bought" | "refunded"}
    {"kind": "has_tag", "tag": "interested"}          {"kind": "lacks_tag", "tag": "interested"}
    {"kind": "utm_source" | "utm_medium" | "utm_campaign" | "utm_term" | "utm_content", "value": "facebook"}
    {"kind": "signup_date", "after": "2026-03-01" | null, "before": "2026-03-31" | null}   (inclusive, UTC days)
    {"kind": "sequence", "value": "day-1" … "day-6" | "finished"}   (that day's email was sent; finished = day 7)
    {"kind": "clicked_within", "days": 14}            a human click (not a scanner's) in the last N days
    {"kind": "no_click_in_last", "emails": 3}         at least N marketing emails sent since their last human
                                                      click (or ever, if none): the last N went unclicked
    {"kind": "time_zone", "value": "Europe/Berlin"}

`validate_conditions` is the one gate (the model's validator, the admin form and the services all use it): it
returns the canonical JSON or raises ValidationError naming the condition. Whatever a condition knows of
purchases is read from the lead's own fields (is_customer, customer_since), as the dispatcher does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from emails.models import SEQUENCE_STEPS, Click, ScheduledEmail
from leads.models import Lead, LeadTag, tag_name_clean
from leads.time_zones import known_zones

Condition = dict[str, Any]

STATUS_VALUES = {
    "subscribed": "Subscribed (confirmed and on the list)",
    "pending": "Awaiting confirmation",
    "confirmed": "Confirmed their address (at any time)",
    "paused": "Paused their reminders (now)",
    "inactive": "Inactive (stopped reading; no marketing mail until they click again)",
    "unsubscribed": "Unsubscribed (no longer on the list)",
    "suppressed": "Suppressed (bounces, complaint or ESP unsubscribe)",
}
PURCHASE_VALUES = {
    "bought": "Bought (has access now)",
    "not_bought": "Never bought",
    "refunded": "Bought, then refunded or disputed",
}
SEQUENCE_VALUES = {**{f"day-{n}": f"Reached day {n}" for n in range(1, 7)}, "finished": "Finished the week (day 7)"}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_DAYS = 3650
MAX_EMAILS = 100


def _choice(condition: Condition, values: dict[str, str]) -> str:
    value = condition.get("value")
    if value not in values:
        raise ValidationError(f"choose one of: {', '.join(values)}")
    return str(value)


def _count(condition: Condition, key: str, high: int) -> int:
    value = condition.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValidationError(f"{key} must be a whole number from 1 to {high}")
    return value


def _day(condition: Condition, key: str) -> str | None:
    value = condition.get(key)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValidationError(f"{key} must be a date (YYYY-MM-DD)") from None


def _text(condition: Condition, limit: int = 100) -> str:
    value = condition.get("value")
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"value must be text of at most {limit} characters")
    return value.strip()


# --- the kinds: canonical JSON, description, Q --------------------------------------------------------------------

def _status_q(value: str, now: datetime) -> Q:
    return {
        "subscribed": Q(status=Lead.Status.SUBSCRIBED),
        "pending": Q(status=Lead.Status.PENDING),
        "confirmed": Q(confirmed_at__isnull=False),
        "paused": Q(paused_until__gt=now),
        "inactive": Q(inactive_since__isnull=False),  # the sunset (emails/sunset.py)
        "unsubscribed": Q(status=Lead.Status.UNSUBSCRIBED),
        "suppressed": ~Q(suppression=Lead.Suppression.NONE),
    }[value]


def _purchase_q(value: str) -> Q:
    # customer_since is set at the first purchase and never cleared; a refund or dispute clears is_customer.
    return {
        "bought": Q(is_customer=True),
        "not_bought": Q(is_customer=False, customer_since__isnull=True),
        "refunded": Q(is_customer=False, customer_since__isnull=False),
    }[value]


def _has_tag(name: str) -> Exists:
    return Exists(LeadTag.objects.filter(lead=OuterRef("pk"), tag__name=name))


def _utc_day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=ZoneInfo("UTC"))


def _signup_q(after: str | None, before: str | None) -> Q:
    q = Q()
    if after:
        q &= Q(created_at__gte=_utc_day_start(after))
    if before:
        q &= Q(created_at__lt=_utc_day_start(before) + timedelta(days=1))
    return q


def _sequence_q(value: str) -> Q:
    step = SEQUENCE_STEPS[-1] if value == "finished" else value
    return Q(Exists(ScheduledEmail.objects.filter(lead=OuterRef("pk"), step=step,
                                                  stream=ScheduledEmail.Stream.MARKETING,
                                                  status=ScheduledEmail.Status.SENT)))


def _clicked_within_q(days: int, now: datetime) -> Q:
    return Q(Exists(Click.objects.filter(lead=OuterRef("pk"), machine=Click.Machine.HUMAN,
                                         created_at__gte=now - timedelta(days=days))))


def _no_click_in_last_q(emails: int) -> Q:
    # The marketing emails sent since the reader's last human click (or ever) are counted on the lead as they go
    # (emails/engagement.py): a range on its own index, not an anti-join of every sent row with the clicks.
    return Q(marketing_since_click__gte=emails)


@dataclass(frozen=True)
class Kind:
    label: str
    clean: Callable[[Condition], Condition]
    describe: Callable[[Condition], str]
    q: Callable[[Condition, datetime], Q]


def _clean_time_zone(c: Condition) -> Condition:
    value = _text(c, 64)
    if value not in known_zones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Berlin")
    return {"kind": "time_zone", "value": value}


def _clean_signup(c: Condition) -> Condition:
    after, before = _day(c, "after"), _day(c, "before")
    if after is None and before is None:
        raise ValidationError("give a first day, a last day, or both")
    if after and before and after > before:
        raise ValidationError("the first day comes after the last day")
    return {"kind": "signup_date", "after": after, "before": before}


def _clean_tag(kind: str) -> Callable[[Condition], Condition]:
    def clean(c: Condition) -> Condition:
        return {"kind": kind, "tag": tag_name_clean(str(c.get("tag") or ""))}
    return clean


def _utm_kind(field: str) -> Kind:
    title = field.replace("utm_", "UTM ")
    return Kind(
        label=f"{title} is",
        clean=lambda c: {"kind": field, "value": _text(c)},
        describe=lambda c: f"{title} is “{c['value']}”" if c["value"] else f"{title} is empty (direct)",
        q=lambda c, now: Q(**{field: c["value"]}),
    )


def _signup_words(c: Condition) -> str:
    if c["after"] and c["before"]:
        return f"signed up from {c['after']} to {c['before']} (UTC)"
    return f"signed up on or after {c['after']} (UTC)" if c["after"] else f"signed up on or before {c['before']} (UTC)"


KINDS: dict[str, Kind] = {
    "status": Kind("Status is", lambda c: {"kind": "status", "value": _choice(c, STATUS_VALUES)},
                   lambda c: STATUS_VALUES[c["value"]], lambda c, now: _status_q(c["value"], now)),
    "purchase": Kind("Purchase", lambda c: {"kind": "purchase", "value": _choice(c, PURCHASE_VALUES)},
                     lambda c: PURCHASE_VALUES[c["value"]], lambda c, now: _purchase_q(c["value"])),
    "has_tag": Kind("Has tag", _clean_tag("has_tag"), lambda c: f"has tag “{c['tag']}”",
                    lambda c, now: Q(_has_tag(c["tag"]))),
    "lacks_tag": Kind("Lacks tag", _clean_tag("lacks_tag"), lambda c: f"lacks tag “{c['tag']}”",
                      lambda c, now: ~Q(_has_tag(c["tag"]))),
    **{field: _utm_kind(field) for field in UTM_FIELDS},
    "signup_date": Kind("Signed up between", _clean_signup, _signup_words,
                        lambda c, now: _signup_q(c["after"], c["before"])),
    "sequence": Kind("Sequence", lambda c: {"kind": "sequence", "value": _choice(c, SEQUENCE_VALUES)},
                     lambda c: SEQUENCE_VALUES[c["value"]], lambda c, now: _sequence_q(c["value"])),
    "clicked_within": Kind("Clicked in the last N days",
                           lambda c: {"kind": "clicked_within", "days": _count(c, "days", MAX_DAYS)},
                           lambda c: f"clicked a link in the last {c['days']} day(s)",
                           lambda c, now: _clicked_within_q(c["days"], now)),
    "no_click_in_last": Kind("No click in the last N emails",
                             lambda c: {"kind": "no_click_in_last", "emails": _count(c, "emails", MAX_EMAILS)},
                             lambda c: f"no click since their last {c['emails']} email(s)",
                             lambda c, now: _no_click_in_last_q(c["emails"])),
    "time_zone": Kind("Time zone is", _clean_time_zone, lambda c: f"time zone {c['value']}",
                      lambda c, now: Q(time_zone=c["value"])),
}


def clean_condition(condition: Any) -> Condition:
    """One condition in its canonical form; ValidationError (without the condition's position) when it is wrong."""
    if not isinstance(condition, dict) or condition.get("kind") not in KINDS:
        raise ValidationError(f"unknown condition; the kinds are: {', '.join(KINDS)}")
    return KINDS[condition["kind"]].clean(condition)


def validate_conditions(conditions: Any) -> list[Condition]:
    """The canonical list, or ValidationError naming each wrong condition by its position (1-based)."""
    if not isinstance(conditions, list):
        raise ValidationError("conditions must be a list")
    cleaned, errors = [], []
    for number, condition in enumerate(conditions, start=1):
        try:
            cleaned.append(clean_condition(condition))
        except ValidationError as exc:
            errors.append(f"Condition {number}: {'; '.join(exc.messages)}")
    if errors:
        raise ValidationError(errors)
    return cleaned


def describe(condition: Condition) -> str:
    return KINDS[condition["kind"]].describe(condition)


def condition_q(condition: Condition, *, now: datetime) -> Q:
    return KINDS[condition["kind"]].q(condition, now)

"""The sunset: readers who stopped reading are asked once whether they still want our emails, and without an answer
stop getting marketing mail (old, silent addresses turn into spam traps and drag the complaint rate up).

A beat task (`sunset_run`, every few minutes, set-based):
1. asks: a subscribed, confirmed-for-more-than-M-days reader who is not a buyer, not paused, not suppressed, with
   at least N marketing emails since their last human click (Lead.marketing_since_click, emails/engagement.py)
   gets the `sunset` email, as one marketing row `sunset-<cycle>` through the normal dispatcher (UNIQUE(lead,
   step): exactly once per reader per cycle), on their next local morning; the lead's cycle opens
   (leads/sunset.py);
2. stops: a reader whose email was sent more than the grace days ago and who has not answered becomes inactive.
An answer is any human click or a preferences save (leads.sunset.lead_activity_record): the cycle closes and the
reader is active again. N, M and the grace are the admin's sequence settings.

What an inactive reader does not get is decided by the dispatcher at send time (emails/after_week.py): every
marketing email except a buyer's. Buyers are never asked nor made inactive, so their practice reminders go on, and
transactional mail (sign-in links, receipts) never reads any of this.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from emails.content.models import SequenceSettings
from emails.content.timing import SETTINGS_PK
from emails.models import SUNSET_STEP, ScheduledEmail
from emails.schedule import mornings_from
from leads.models import Lead, SunsetChange
from leads.sunset import leads_sunset_ask, leads_sunset_inactivate

# Readers asked per beat run: a first run after a deploy on a big, old list asks in slices, not all at once.
ASK_PER_RUN = 5000
ASK_CHUNK = 1000
Stream, Status = ScheduledEmail.Stream, ScheduledEmail.Status


@dataclass(frozen=True)
class SunsetRules:
    after_emails: int  # N: marketing emails in a row without a human click
    subscribed_days: int  # M: days since confirming
    grace_days: int  # days to answer


def sunset_rules() -> SunsetRules:
    fields = ("sunset_after_emails", "sunset_subscribed_days", "sunset_grace_days")
    row = SequenceSettings.objects.filter(pk=SETTINGS_PK).values(*fields).first()
    values = row or {name: getattr(SequenceSettings(), name) for name in fields}  # not saved yet: the defaults
    return SunsetRules(*(values[name] for name in fields))


def sunset_rows() -> "Q":
    """The sunset emails among the rows (every cycle's)."""
    return Q(step__startswith=f"{SUNSET_STEP}-", stream=Stream.MARKETING)


def sunset_candidates(*, now: datetime, rules: SunsetRules) -> "list[tuple[int, str]]":
    """(lead id, time zone) of readers to ask now, oldest signups first; one query on the count's index. Locked
    (PostgreSQL) so two beat runs at once ask each reader once."""
    return list(Lead.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        status=Lead.Status.SUBSCRIBED, is_customer=False, suppression=Lead.Suppression.NONE,
        marketing_since_click__gte=rules.after_emails, confirmed_at__lte=now - timedelta(days=rules.subscribed_days),
        sunset_asked_at__isnull=True, inactive_since__isnull=True,
    ).exclude(paused_until__gt=now).order_by("pk").values_list("pk", "time_zone")[:ASK_PER_RUN])


def _ask(chunk: list[tuple[int, str]], now: datetime) -> int:
    ids = [pk for pk, _ in chunk]
    cycles = dict(SunsetChange.objects.filter(lead_id__in=ids, action=SunsetChange.Action.ASKED)
                  .values("lead_id").annotate(n=Count("pk")).values_list("lead_id", "n"))
    asked = set(leads_sunset_ask(lead_ids=ids, now=now))
    rows = [ScheduledEmail(lead_id=pk, step=f"{SUNSET_STEP}-{cycles.get(pk, 0) + 1}", stream=Stream.MARKETING,
                           send_at=mornings_from(now, time_zone=time_zone, count=1)[0], created_at=now)
            for pk, time_zone in chunk if pk in asked]
    ScheduledEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def sunset_run(*, now: datetime | None = None) -> dict[str, int]:
    """One pass of the sunset (see the module docstring). Returns how many were asked and made inactive."""
    now = now or timezone.now()
    rules = sunset_rules()
    # The grace counts from the email's sending: a reader is never stopped before they could have read it.
    answered_by = now - timedelta(days=rules.grace_days)
    sent = ScheduledEmail.objects.filter(sunset_rows(), lead=OuterRef("pk"), status=Status.SENT,
                                         sent_at__gte=OuterRef("sunset_asked_at"), sent_at__lt=answered_by)
    silent = Lead.objects.filter(sunset_asked_at__isnull=False).filter(Exists(sent)).values_list("pk", flat=True)
    inactive = leads_sunset_inactivate(lead_ids=list(silent), now=now)
    candidates = sunset_candidates(now=now, rules=rules)
    asked = sum(_ask(candidates[i:i + ASK_CHUNK], now) for i in range(0, len(candidates), ASK_CHUNK))
    return {"asked": asked, "inactive": inactive}

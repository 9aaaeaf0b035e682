"""Signup and confirmation: the flows that change a lead AND send mail, so they live in `funnel`."""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.services import email_queue, sequence_enrol
from funnel.models import DailyVisit
from leads.models import Lead
from leads.selectors import leads_due_confirm_reminder
from leads.services import (
    Attribution,
    lead_confirm,
    lead_mark_confirm_reminded,
    lead_purge_unconfirmed,
    lead_resubscribe,
    lead_signup,
)

log = logging.getLogger(__name__)

CONFIRM_REMINDER_AFTER = timedelta(hours=24)
PURGE_UNCONFIRMED_AFTER = timedelta(days=30)


def _queue_confirmation(lead: Lead) -> None:
    # One confirmation per address per UTC day: someone who lost the mail gets a new one tomorrow, and nobody
    # can use our form to flood a stranger's inbox (the per-IP rate limit aside).
    email_queue(lead=lead, step="confirm", stream="transactional", key=f"confirm-{timezone.now():%Y-%m-%d}")


@transaction.atomic
def signup_submit(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                  attribution: Attribution | None = None) -> None:
    """Record the signup and send what comes next. Returns nothing on purpose: the page a visitor sees must
    not depend on whether the address was new, pending, unsubscribed or a customer's."""
    lead, _created = lead_signup(email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address,
                                 user_agent=user_agent, attribution=attribution)
    if lead.status == Lead.Status.PENDING:
        if settings.FUNNEL_DOUBLE_OPT_IN:
            _queue_confirmation(lead)
        else:
            lead_confirm(lead=lead, ip_address=ip_address, user_agent=user_agent)
            sequence_enrol(lead=lead)
    elif lead.status == Lead.Status.UNSUBSCRIBED:
        # They said stop once; only the mailbox owner may undo that, so always by confirmation mail.
        _queue_confirmation(lead)
    # Subscribed (customers included): nothing. Never a second sequence, never a second welcome.


@transaction.atomic
def signup_confirm(*, lead: Lead, ip_address: str | None, user_agent: str) -> None:
    """The confirmation link was used: subscribe (or re-subscribe) and start the sequence (idempotent)."""
    if lead.status == Lead.Status.UNSUBSCRIBED:
        lead_resubscribe(lead=lead, ip_address=ip_address, user_agent=user_agent)
    else:
        lead_confirm(lead=lead, ip_address=ip_address, user_agent=user_agent)
    lead.refresh_from_db(fields=["status"])
    if lead.status == Lead.Status.SUBSCRIBED:
        sequence_enrol(lead=lead)


def confirm_reminders_queue(*, now: datetime | None = None) -> int:
    """One reminder, 24 h after signing up, to leads who have not confirmed yet. Returns how many."""
    now = now or timezone.now()
    queued = 0
    for lead in leads_due_confirm_reminder(now=now, after=CONFIRM_REMINDER_AFTER).iterator():
        with transaction.atomic():
            email_queue(lead=lead, step="confirm-reminder", stream="transactional", key="")
            lead_mark_confirm_reminded(lead=lead)
        queued += 1
    return queued


def signup_housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    reminded = confirm_reminders_queue(now=now)
    purged = lead_purge_unconfirmed(created_before=now - PURGE_UNCONFIRMED_AFTER)
    log.info("signup housekeeping: %d reminders queued, %d unconfirmed leads purged", reminded, purged)
    return {"reminded": reminded, "purged": purged}


def sequence_enrol_missing(*, limit: int = 1000) -> int:
    """Start the sequence for subscribed, confirmed leads that never got one. Idempotent. Returns how many.

    Who: someone who unsubscribed before confirming, then resubscribed from the preferences page. That page lives
    in `leads`, which may not call `emails.services.sequence_enrol` (layers), so the lead ends up subscribed with
    no welcome row. We chose this reconciliation over a "lead resubscribed" hook registry in `leads` because it
    repairs every path that ends confirmed-and-subscribed without a sequence (that page today, any later flow
    that forgets to enrol) without hidden callbacks inside `leads`' transactions, and a missed run is caught up
    by the next one; the cost is that their welcome arrives at the next run (every few minutes,
    settings.CELERY_BEAT_SCHEDULE), not the same second.
    Not for leads with reminders stopped or a suppression (every row would be skipped; a later resubscribe
    clears the stop and they are picked up then), nor seed_demo's invented people.
    """
    has_welcome = ScheduledEmail.objects.filter(lead=OuterRef("pk"), step="welcome",
                                                stream=ScheduledEmail.Stream.MARKETING)
    missing = (Lead.objects.filter(status=Lead.Status.SUBSCRIBED, confirmed_at__isnull=False,
                                   reminders_stopped_at__isnull=True, suppression="", is_demo=False)
               .exclude(email__isnull=True).filter(~Exists(has_welcome)).order_by("pk")[:limit])
    enrolled = 0
    for lead in missing:
        # sequence_enrol inserts with UNIQUE(lead, step) and ignore_conflicts: a confirmation racing this run
        # still leaves exactly one sequence.
        if sequence_enrol(lead=lead):
            enrolled += 1
    if enrolled:
        log.info("enrolled %d subscribed leads that had no sequence", enrolled)
    return enrolled


def visit_record(*, day: date, utm_source: str = "", utm_medium: str = "", utm_campaign: str = "") -> None:
    """Count one landing page visit. One atomic UPDATE … SET count = count + 1, so concurrent visits never
    lose a count; the first visit of a day inserts the row (and a racing insert falls back to the update)."""
    key = {"date": day, "utm_source": utm_source[:100], "utm_medium": utm_medium[:100],
           "utm_campaign": utm_campaign[:100]}
    if DailyVisit.objects.filter(**key).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            DailyVisit.objects.create(**key, count=1)
    except IntegrityError:
        DailyVisit.objects.filter(**key).update(count=F("count") + 1)

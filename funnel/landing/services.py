"""Signup and confirmation: the flows that change a lead AND send mail, so they live in `funnel`."""

import logging
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from emails.models import ScheduledEmail
from emails.services import email_queue, sequence_enrol, sequence_reschedule
from funnel.landing.abuse import confirmation_send_at, confirmation_windows_prune
from funnel.landing.mailbox_check import mailbox_lock_and_refused
from funnel.landing.signup_one_trip import signup_new_address
from funnel.landing.utm import OTHER, clean_utm
from funnel.models import DailyVisit
from leads.consent import CONSENT_TEXT
from leads.imports.models import LeadImportRow
from leads.mailbox import mailbox_sha256
from leads.models import Lead
from leads.selectors import leads_due_confirm_reminder
from leads.services import (
    Attribution,
    lead_confirm,
    lead_mark_confirm_reminded,
    lead_purge_unconfirmed,
    lead_resubscribe,
    lead_set_time_zone,
    lead_signup,
)

log = logging.getLogger(__name__)

CONFIRM_REMINDER_AFTER = timedelta(hours=24)
PURGE_UNCONFIRMED_AFTER = timedelta(days=30)
# Distinct (source, medium, campaign) visit counters a day; beyond it new ones are counted under OTHER, so a script
# inventing values cannot grow the table (or the dashboard's per-source table) without bound.
MAX_VISIT_SOURCES_PER_DAY = 200


def _mailbox_may_get_confirmation(lead: Lead, *, now: datetime) -> bool:
    """Confirmation mail goes to a mailbox at most once a UTC day, whichever spelling of it signed up (case,
    quoting, Gmail's dots and +tags: leads/mailbox.py), and never after that mailbox reported our mail as spam:
    anyone can type anyone's address, and a complaint means they do not want it. Runs in the caller's transaction."""
    key = mailbox_sha256(lead.email or "")
    if lead.mailbox_sha256 != key:  # leads from before the key existed, or made outside the signup form
        Lead.objects.filter(pk=lead.pk).update(mailbox_sha256=key)
        lead.mailbox_sha256 = key
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return not mailbox_lock_and_refused(key=key, since=day_start)


def _queue_confirmation(lead: Lead) -> None:
    # Per lead, the key keeps a retried request to one row; per mailbox, the check above keeps it to one a day:
    # someone who lost the mail gets a new one tomorrow, and nobody can use our form to flood a stranger's inbox.
    now = timezone.now()
    if _mailbox_may_get_confirmation(lead, now=now):
        email_queue(lead=lead, step="confirm", stream="transactional", key=f"confirm-{now:%Y-%m-%d}",
                    send_at=confirmation_send_at(email=lead.email or "", now=now))


def signup_submit(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                  attribution: Attribution | None = None, consent_text: str = CONSENT_TEXT) -> None:
    """Record the signup and send what comes next. Returns nothing on purpose: the page a visitor sees must
    not depend on whether the address was new, pending, unsubscribed or a customer's. `consent_text`: what the
    consent record keeps as agreed to (the API adds where it came from: funnel/embed/api.py).

    A new address on PostgreSQL takes one round trip (signup_one_trip.py); every other case, and every database,
    the plain flow below, which writes the same rows."""
    if signup_new_address(email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address,
                          user_agent=user_agent, attribution=attribution, consent_text=consent_text):
        return
    signup_submit_plain(email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address,
                        user_agent=user_agent, attribution=attribution, consent_text=consent_text)


@transaction.atomic
def signup_submit_plain(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                        attribution: Attribution | None = None, consent_text: str = CONSENT_TEXT) -> None:
    """signup_submit in one transaction, as written to be read: find or create the lead, then by its status."""
    lead, _created = lead_signup(email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address,
                                 user_agent=user_agent, attribution=attribution, consent_text=consent_text)
    if lead.status == Lead.Status.PENDING:
        if settings.FUNNEL_DOUBLE_OPT_IN:
            _queue_confirmation(lead)
        else:
            lead_confirm(lead=lead, ip_address=ip_address, user_agent=user_agent)
            sequence_enrol(lead=lead)
    elif lead.status == Lead.Status.UNSUBSCRIBED:
        # They said stop once; only the mailbox owner may undo that, so always by confirmation mail.
        _queue_confirmation(lead)
    elif lead.suppression == Lead.Suppression.SOFT_BOUNCE:
        # Their mail soft-bounced in a row (a full mailbox): confirming again proves it takes mail and lifts that.
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


@transaction.atomic
def reader_time_zone_change(*, lead: Lead, time_zone: str) -> int:
    """The reader picked another time zone (preferences page): store it and move their unsent reminders to the
    same mornings on their own clock, in one transaction. Returns how many reminders moved.

    Here, in `funnel`, because it changes a lead and its mail: the page lives in `leads`, which may not call
    `emails`, so its form posts to this flow's view instead (funnel.landing.views.preferences_time_zone)."""
    previous = lead_set_time_zone(lead=lead, time_zone=time_zone)
    if previous is None:
        return 0
    lead.time_zone = time_zone
    return sequence_reschedule(lead=lead, previous_zone=previous)


def confirm_reminders_queue(*, now: datetime | None = None) -> int:
    """One reminder, 24 h after signing up, to leads who have not confirmed yet. Returns how many."""
    now = now or timezone.now()
    queued = 0
    # An imported lead's confirmation is paced (funnel/imports): its reminder waits until a day after it went out.
    recent_confirmation = ScheduledEmail.objects.filter(lead=OuterRef("pk"), step="confirm").filter(
        Q(sent_at__isnull=True) | Q(sent_at__gt=now - CONFIRM_REMINDER_AFTER)).exclude(
        status__in=[ScheduledEmail.Status.SKIPPED, ScheduledEmail.Status.FAILED])
    due = leads_due_confirm_reminder(now=now, after=CONFIRM_REMINDER_AFTER).filter(~Exists(recent_confirmation))
    for lead in due.iterator():
        with transaction.atomic():
            # Marked either way: a mailbox that already had its confirmation today, or complained, gets no
            # reminder for this spelling later either.
            lead_mark_confirm_reminded(lead=lead)
            if not _mailbox_may_get_confirmation(lead, now=now):
                continue
            email_queue(lead=lead, step="confirm-reminder", stream="transactional", key="",
                        send_at=confirmation_send_at(email=lead.email or "", now=now))
        queued += 1
    return queued


def signup_housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    reminded = confirm_reminders_queue(now=now)
    purged = lead_purge_unconfirmed(created_before=now - PURGE_UNCONFIRMED_AFTER)
    confirmation_windows_prune(now=now)
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
    # Staff chose not to enrol an import's confirmed rows (funnel/imports): this must not enrol them behind their back.
    imported_unenrolled = LeadImportRow.objects.filter(lead=OuterRef("pk"), dry_run=False, lead_import__enrol=False,
                                                       outcome=LeadImportRow.Outcome.CONFIRMED)
    missing = (Lead.objects.filter(status=Lead.Status.SUBSCRIBED, confirmed_at__isnull=False,
                                   reminders_stopped_at__isnull=True, suppression="", is_demo=False)
               .exclude(email__isnull=True).filter(~Exists(has_welcome), ~Exists(imported_unenrolled))
               .order_by("pk")[:limit])
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
    lose a count; the first visit of a day inserts the row (and a racing insert falls back to the update).

    Values are bounded (funnel/landing/utm.py) and so is the number of counters a day: the visitor is anonymous,
    so nothing they type may grow our tables or reach a CSV unchecked."""
    key = {"date": day, "utm_source": clean_utm(utm_source), "utm_medium": clean_utm(utm_medium),
           "utm_campaign": clean_utm(utm_campaign)}
    if DailyVisit.objects.filter(**key).update(count=F("count") + 1):
        return
    if DailyVisit.objects.filter(date=day).count() >= MAX_VISIT_SOURCES_PER_DAY:
        # Concurrent first visits may each pass this check: the cap can be overshot by a few, never by many.
        key.update(utm_source=OTHER, utm_medium=OTHER, utm_campaign=OTHER)
        if DailyVisit.objects.filter(**key).update(count=F("count") + 1):
            return
    try:
        with transaction.atomic():
            DailyVisit.objects.create(**key, count=1)
    except IntegrityError:
        DailyVisit.objects.filter(**key).update(count=F("count") + 1)

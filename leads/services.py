"""Every write to a lead's state. Keyword-only arguments, atomic, saves with `update_fields`.

The sender reads these fields at send time, so none of these functions touches the email schedule.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads import privacy, signals
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.db import insert_unless_conflict, insert_with_child_unless_conflict
from leads.imports.models import LeadImportRow
from leads.mailbox import mailbox_sha256
from leads.models import ConsentRecord, Lead, LeadTag, SuppressionChange, Tag, TagChange, tag_name_clean
from leads.validation import normalised_email


def email_sha256(email: str) -> str:
    return hashlib.sha256(normalised_email(email).encode()).hexdigest()


def _record_consent(*, lead: Lead, action: str, ip_address: str | None, user_agent: str,
                    consent_version: str = "", consent_text: str = "") -> ConsentRecord:
    return ConsentRecord.objects.create(
        lead=lead, email_sha256=email_sha256(lead.email or ""), action=action, consent_version=consent_version,
        consent_text=consent_text, ip_address=ip_address, user_agent=user_agent[:500],
    )


@dataclass(frozen=True)
class Attribution:
    """Where a signup came from. Stored on first touch only: a later visit never rewrites the source."""

    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    referrer: str = ""
    landing_path: str = ""

    def as_lead_fields(self) -> dict[str, str]:
        limits = {"referrer": 500, "landing_path": 500}
        return {name: value[: limits.get(name, 100)] for name, value in self.__dict__.items()}


def signup_values(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                  attribution: Attribution | None = None, consent_version: str = CONSENT_VERSION,
                  consent_text: str = CONSENT_TEXT) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of the new lead and of its consent record that a signup of a new (already normalised) address
    writes (every other field at its default); the record's lead is set when both are inserted."""
    lead = {"email": email, "first_name": first_name, "time_zone": time_zone, "mailbox_sha256": mailbox_sha256(email),
            **(attribution or Attribution()).as_lead_fields()}
    consent = {"email_sha256": email_sha256(email), "action": ConsentRecord.Action.SIGNUP,
               "consent_version": consent_version, "consent_text": consent_text, "ip_address": ip_address,
               "user_agent": user_agent[:500]}
    return lead, consent


# savepoint=False: nothing in here is expected to fail and be caught by a caller inside the same transaction
# (the INSERT … ON CONFLICT below raises no IntegrityError), and a savepoint costs two round trips per signup.
@transaction.atomic(savepoint=False)
def lead_signup(*, email: str, first_name: str, time_zone: str, ip_address: str | None, user_agent: str,
                attribution: Attribution | None = None, consent_version: str = CONSENT_VERSION,
                consent_text: str = CONSENT_TEXT) -> tuple[Lead, bool]:
    """Find or create the lead for an (already normalised) address and record the consent given.

    Returns (lead, created). An existing lead is not changed: anyone can type anyone's address, so a signup
    must not overwrite a name, a source or a status. What happens next (confirmation mail, sequence) depends
    on the lead's status and is decided by the caller in `funnel`.
    """
    lead_values, consent_values = signup_values(
        email=email, first_name=first_name, time_zone=time_zone, ip_address=ip_address, user_agent=user_agent,
        attribution=attribution, consent_version=consent_version, consent_text=consent_text)
    lead, consent = Lead(**lead_values), ConsentRecord(**consent_values)
    # A new address (the common case): the lead and its consent record in one statement on PostgreSQL. A known
    # one, or a concurrent signup that inserted the same address first (the insert waits for it, then does
    # nothing, and so writes no consent either), is read back and its consent recorded as before.
    if insert_with_child_unless_conflict(lead, consent, fk_field="lead"):
        return lead, True
    lead = Lead.objects.get(email=email)
    _record_consent(lead=lead, action=ConsentRecord.Action.SIGNUP, ip_address=ip_address, user_agent=user_agent,
                    consent_version=consent_version, consent_text=consent_text)
    return lead, False


@transaction.atomic(savepoint=False)  # as lead_signup: nothing in here raises for a caller to catch
def lead_buyer_find_or_create(*, email: str) -> Lead:
    """The lead with this address (normalised here), or a new one for a buyer who never signed up.

    A new buyer gave no marketing consent: the lead is created `unsubscribed` with reminders stopped, so no
    drip, confirmation reminder or "order waiting" mail ever reaches them; purchase mail is transactional and
    still goes out. No consent record is written (there was no consent). Like every lead it carries its mailbox
    key, so what is refused to that mailbox (after a complaint from any spelling of it) is refused to it too.
    """
    email = normalised_email(email)
    existing = Lead.objects.filter(email=email).first()
    if existing is not None:
        return existing
    lead = Lead(email=email, status=Lead.Status.UNSUBSCRIBED, reminders_stopped_at=timezone.now(),
                mailbox_sha256=mailbox_sha256(email))
    # A concurrent fulfilment for the same new address inserts first: this one waits for it, then reads its lead.
    if not insert_unless_conflict(lead):
        lead = Lead.objects.get(email=email)
    return lead


@transaction.atomic
def lead_confirm(*, lead: Lead, ip_address: str | None = None, user_agent: str = "") -> bool:
    """Double opt-in confirmed (again, for a lead whose mail soft-bounced: that lifts the soft-bounce suppression).
    Returns False when there was nothing to do (already confirmed and nothing lifted)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    lifted = _lift_soft_bounce_on_confirm(lead)
    if lead.status != Lead.Status.PENDING:
        return lifted
    lead.status = Lead.Status.SUBSCRIBED
    lead.confirmed_at = timezone.now()
    lead.save(update_fields=["status", "confirmed_at"])
    _record_consent(lead=lead, action=ConsentRecord.Action.CONFIRM, ip_address=ip_address, user_agent=user_agent)
    signals.lead_confirmed.send(sender=Lead, lead=lead)
    return True


@transaction.atomic
def lead_pause(*, lead: Lead, days: int = 3) -> None:
    lead.paused_until = timezone.now() + timedelta(days=days)
    lead.save(update_fields=["paused_until"])


@transaction.atomic
def lead_stop_reminders(*, lead: Lead) -> None:
    """Stop the 7-day reminders but keep the account (and transactional mail)."""
    lead.reminders_stopped_at = lead.reminders_stopped_at or timezone.now()
    lead.save(update_fields=["reminders_stopped_at"])


@transaction.atomic
def lead_set_time_zone(*, lead: Lead, time_zone: str) -> str | None:
    """Store the reader's IANA zone (already validated). Returns the zone it replaced, or None when unchanged.

    Only the lead changes here: moving their unsent reminders is `emails`' job, called by the flow in `funnel`
    that offers the change (funnel.landing.services.reader_time_zone_change)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.time_zone == time_zone or lead.status == Lead.Status.ERASED:
        return None
    previous, lead.time_zone = lead.time_zone, time_zone
    lead.save(update_fields=["time_zone"])
    return previous


@transaction.atomic
def lead_unsubscribe(*, lead: Lead, ip_address: str | None = None, user_agent: str = "") -> bool:
    """Unsubscribe from all marketing mail. Idempotent: returns False if already unsubscribed."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status in (Lead.Status.UNSUBSCRIBED, Lead.Status.ERASED):
        return False
    lead.status = Lead.Status.UNSUBSCRIBED
    lead.unsubscribed_at = timezone.now()
    lead.save(update_fields=["status", "unsubscribed_at"])
    _record_consent(lead=lead, action=ConsentRecord.Action.UNSUBSCRIBE, ip_address=ip_address,
                    user_agent=user_agent)
    signals.lead_unsubscribed.send(sender=Lead, lead=lead)
    return True


@transaction.atomic
def lead_suppress(*, lead: Lead, reason: str, note: str = "") -> bool:
    """The ESP reported a hard bounce, a complaint, an unsubscribe, or soft bounces in a row. The first reason
    wins, except that a hard bounce (which stops transactional mail too) overrides a softer one. `note` says why,
    for the lead's timeline. Returns False when nothing changed."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.suppression and not (reason == Lead.Suppression.HARD_BOUNCE
                                 and lead.suppression != Lead.Suppression.HARD_BOUNCE):
        return False
    lead.suppression = reason
    lead.suppressed_at = timezone.now()
    lead.save(update_fields=["suppression", "suppressed_at"])
    SuppressionChange.objects.create(lead=lead, action=SuppressionChange.Action.SUPPRESSED, suppression=reason,
                                     reason=note[:500], created_at=lead.suppressed_at)
    return True


@transaction.atomic
def lead_suppression_lift(*, lead: Lead, reason: str, by: str = "") -> bool:
    """Mail this lead again: staff decided so (`by` names them; a reason is required), or the reader proved the
    mailbox works. Soft bounces from before the lift no longer count. Returns False when nothing was suppressed."""
    reason = reason.strip()
    if not reason:
        raise ValueError("lifting a suppression needs a reason")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not lead.suppression:
        return False
    SuppressionChange.objects.create(lead=lead, action=SuppressionChange.Action.LIFTED,
                                     suppression=lead.suppression, reason=reason[:500], by=by[:150])
    lead.suppression = Lead.Suppression.NONE
    lead.suppressed_at = None
    lead.save(update_fields=["suppression", "suppressed_at"])
    return True


def _lift_soft_bounce_on_confirm(lead: Lead) -> bool:
    """Confirming through a link we mailed proves the mailbox takes mail again: a soft-bounce suppression goes.
    (A hard bounce or a complaint is not lifted this way.)"""
    if lead.suppression != Lead.Suppression.SOFT_BOUNCE:
        return False
    return lead_suppression_lift(lead=lead, reason="confirmed the address again (double opt-in)")


@transaction.atomic
def lead_make_customer(*, lead: Lead) -> bool:
    """Grant buyer access. Returns False when the lead already was a customer."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.is_customer:
        return False
    lead.is_customer = True
    lead.customer_since = lead.customer_since or timezone.now()
    lead.save(update_fields=["is_customer", "customer_since"])
    return True


@transaction.atomic
def lead_revoke_access(*, lead: Lead) -> None:
    """Refund or dispute: no more buyer access, and every signed-in session of this buyer ends."""
    Lead.objects.filter(pk=lead.pk).update(is_customer=False, access_version=F("access_version") + 1)
    lead.refresh_from_db(fields=["is_customer", "access_version"])


@transaction.atomic
def lead_resubscribe(*, lead: Lead, ip_address: str | None = None, user_agent: str = "") -> bool:
    """Back on the list, with every preference reset (no pause, reminders on).

    Only reachable through a link that was mailed to the address (preferences or confirmation), so it also
    proves the mailbox: a lead that unsubscribed before confirming counts as confirmed now.
    Returns False when there was nothing to do.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.ERASED:
        return False
    _lift_soft_bounce_on_confirm(lead)
    changed = (lead.status != Lead.Status.SUBSCRIBED or lead.paused_until is not None
               or lead.reminders_stopped_at is not None)
    if not changed:
        return False
    was_out = lead.status != Lead.Status.SUBSCRIBED
    lead.status = Lead.Status.SUBSCRIBED
    lead.confirmed_at = lead.confirmed_at or timezone.now()
    lead.paused_until = None
    lead.reminders_stopped_at = None
    lead.save(update_fields=["status", "confirmed_at", "paused_until", "reminders_stopped_at"])
    if was_out:
        _record_consent(lead=lead, action=ConsentRecord.Action.RESUBSCRIBE, ip_address=ip_address,
                        user_agent=user_agent, consent_version=CONSENT_VERSION, consent_text=CONSENT_TEXT)
    return True


@transaction.atomic
def lead_set_unsubscribe_reason(*, lead: Lead, reason: str) -> None:
    lead.unsubscribe_reason = reason.strip()[:500]
    lead.save(update_fields=["unsubscribe_reason"])


def _anonymise(lead: Lead, *, now: datetime) -> None:
    """Remove everything that identifies the person; keep the row (status, dates, UTM source) so funnel counts
    stay right. Consent records keep only the address's hash, which the law allows as proof of consent.

    Then every area that registered an eraser (mail, money, app) removes its copies, in the same transaction."""
    person = privacy.ErasedPerson(lead=lead, email=lead.email or "", first_name=lead.first_name)
    lead.email = None
    lead.first_name = ""
    lead.status = Lead.Status.ERASED
    lead.erased_at = now
    lead.unsubscribe_reason = ""
    lead.referrer = ""  # may carry a search query or a personal URL
    lead.landing_path = ""
    lead.time_zone = "UTC"
    lead.save(update_fields=["email", "first_name", "status", "erased_at", "unsubscribe_reason", "referrer",
                             "landing_path", "time_zone"])
    # Staff type their reason for lifting a suppression freely ("spoke to Ann on the phone"); ours never name anyone.
    SuppressionChange.objects.filter(lead=lead).exclude(by="").update(reason=privacy.ERASED)
    # A tag says what a person is interested in (or told us about their pain): it goes with them.
    LeadTag.objects.filter(lead=lead).delete()
    TagChange.objects.filter(lead=lead).delete()
    # An import's report keeps the address of a row it refused (the person was already here): not any more.
    if person.email:
        LeadImportRow.objects.filter(email__iexact=person.email).update(email=privacy.ERASED)
    privacy.erase_everywhere(person)


@transaction.atomic
def lead_erase(*, lead: Lead, ip_address: str | None = None, user_agent: str = "") -> bool:
    """The person asked to be forgotten. Idempotent. The dispatcher skips an erased lead's remaining rows."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.ERASED:
        return False
    # Recorded first, while the address is still there to be hashed.
    _record_consent(lead=lead, action=ConsentRecord.Action.ERASE, ip_address=ip_address, user_agent=user_agent)
    _anonymise(lead, now=timezone.now())
    return True


@transaction.atomic
def lead_mark_confirm_reminded(*, lead: Lead) -> None:
    lead.confirm_reminder_sent_at = timezone.now()
    lead.save(update_fields=["confirm_reminder_sent_at"])


@transaction.atomic
def lead_purge_unconfirmed(*, created_before: datetime) -> int:
    """Addresses never confirmed are not ours to keep: anonymise them (the rows stay as anonymous counts of
    signups that did not confirm, exactly as an erasure does). Returns how many were purged."""
    now = timezone.now()
    stale = Lead.objects.select_for_update(skip_locked=True).filter(
        status=Lead.Status.PENDING, created_at__lt=created_before, is_customer=False  # a buyer keeps access
    )
    purged = 0
    for lead in stale:
        _anonymise(lead, now=now)
        purged += 1
    return purged


@transaction.atomic
def lead_tag_add(*, lead: Lead, tag: str, source: str, by: str = "") -> bool:
    """Give the lead a tag (made on first use), recorded in their timeline with `source` (a TagChange.Source) and
    the staff user `by`. Returns False when they already had it, or were erased. ValidationError for a bad name."""
    name = tag_name_clean(tag)
    # Read under the row's lock, as erasure takes it: a tag never lands on a person erased a moment ago.
    status = Lead.objects.select_for_update().filter(pk=lead.pk).values_list("status", flat=True).first()
    if status in (None, Lead.Status.ERASED):
        return False
    # Both inserts are single statements that never raise on a concurrent duplicate (no savepoint needed).
    tag_row = Tag(name=name)
    if not insert_unless_conflict(tag_row):
        tag_row = Tag.objects.get(name=name)
    if not insert_unless_conflict(LeadTag(lead=lead, tag=tag_row)):
        return False
    TagChange.objects.create(lead=lead, tag=name, action=TagChange.Action.ADDED, source=source, by=by[:150])
    signals.lead_tagged.send(sender=Lead, lead=lead, tag=name)
    return True


@transaction.atomic
def lead_tag_remove(*, lead: Lead, tag: str, source: str, by: str = "") -> bool:
    """Take the tag off the lead, recorded in their timeline. Returns False when they did not have it."""
    name = tag.strip().lower()
    deleted, _ = LeadTag.objects.filter(lead=lead, tag__name=name).delete()
    if not deleted:
        return False
    TagChange.objects.create(lead=lead, tag=name, action=TagChange.Action.REMOVED, source=source, by=by[:150])
    return True

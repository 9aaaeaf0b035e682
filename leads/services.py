"""Every write to a lead's state. Keyword-only arguments, atomic, saves with `update_fields`.

The sender reads these fields at send time, so none of these functions touches the email schedule.
"""

import hashlib
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads.models import ConsentRecord, Lead


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@transaction.atomic
def lead_confirm(*, lead: Lead) -> bool:
    """Double opt-in confirmed. Returns False when there was nothing to do (already confirmed or gone)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status != Lead.Status.PENDING:
        return False
    lead.status = Lead.Status.SUBSCRIBED
    lead.confirmed_at = timezone.now()
    lead.save(update_fields=["status", "confirmed_at"])
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
def lead_unsubscribe(*, lead: Lead, ip_address: str | None = None, user_agent: str = "") -> bool:
    """Unsubscribe from all marketing mail. Idempotent: returns False if already unsubscribed."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status in (Lead.Status.UNSUBSCRIBED, Lead.Status.ERASED):
        return False
    lead.status = Lead.Status.UNSUBSCRIBED
    lead.unsubscribed_at = timezone.now()
    lead.save(update_fields=["status", "unsubscribed_at"])
    ConsentRecord.objects.create(lead=lead, email_sha256=email_sha256(lead.email or ""),
                                 action=ConsentRecord.Action.UNSUBSCRIBE, ip_address=ip_address,
                                 user_agent=user_agent[:500])
    return True


@transaction.atomic
def lead_suppress(*, lead: Lead, reason: str) -> None:
    """The ESP reported a hard bounce, a complaint or an unsubscribe. The first reason wins, except that a
    hard bounce (which stops transactional mail too) overrides a softer one."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.suppression and not (reason == Lead.Suppression.HARD_BOUNCE
                                 and lead.suppression != Lead.Suppression.HARD_BOUNCE):
        return
    lead.suppression = reason
    lead.suppressed_at = timezone.now()
    lead.save(update_fields=["suppression", "suppressed_at"])


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

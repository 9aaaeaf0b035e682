"""The automatic brake: marketing mail stops when the last marketing emails drew too many complaints or hard bounces.

The window is the last DELIVERABILITY_BRAKE_WINDOW marketing emails sent (1,000) since the brake was last released,
judged once at least DELIVERABILITY_BRAKE_MIN_SENT (200) of them have gone out: a spam complaint rate at or above
the providers' stop limit (thresholds.COMPLAINT_STOP, 0.3 %) or a hard-bounce rate at or above
thresholds.HARD_BOUNCE_STOP (5 %) engages it. Counting only since the last release lets staff resume without the
same complaints stopping the mail again at once.

Judged when it can change: when a complaint or hard bounce of a marketing email comes in (emails/tracking.py) and
after each dispatcher batch that sent marketing mail (emails/dispatch.py). Each judgement is one read of the latest
engagement and one bounded query: the window's rows from the partial index of sent marketing mail, newest first,
with an index probe of their events each; never a scan of the whole table.

The state is a row (SendingBrake), so every worker on every machine sees it on its next claim: while engaged the
dispatchers claim only transactional mail, and marketing rows wait, due, in their order. Staff are emailed once per
engagement; releasing it is a staff action with a reason (brake_views.py), recorded on the row.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from anymail.signals import EventType
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from emails.deliverability import thresholds
from emails.deliverability.models import SendingBrake
from emails.models import EmailEvent, ScheduledEmail
from emails.staff_alert import staff_alert_send

logger = logging.getLogger(__name__)
Cause = SendingBrake.Cause


@dataclass(frozen=True)
class Window:
    """The last marketing emails sent, and how many drew a complaint or a hard bounce."""

    sent: int
    complaints: int
    hard_bounces: int

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0

    @property
    def hard_bounce_rate(self) -> float:
        return self.hard_bounces / self.sent if self.sent else 0.0

    def cause(self) -> str:
        """Why the brake must engage ('' when it must not)."""
        if self.sent < settings.DELIVERABILITY_BRAKE_MIN_SENT:
            return ""
        # Counts, not float rates, are compared: 3 in 1,000 is exactly the 0.3 % limit.
        if self.complaints * 1_000_000 >= round(thresholds.COMPLAINT_STOP * 1_000_000) * self.sent:
            return Cause.COMPLAINTS
        if self.hard_bounces * 1_000_000 >= round(thresholds.HARD_BOUNCE_STOP * 1_000_000) * self.sent:
            return Cause.HARD_BOUNCES
        return ""


def brake_window_rows(*, since: datetime | None) -> QuerySet[ScheduledEmail]:
    """The last DELIVERABILITY_BRAKE_WINDOW marketing emails sent after `since`: newest first, read backwards
    through the partial index sent_marketing_email_idx and stopped after the window, whatever the table's size."""
    last = ScheduledEmail.objects.filter(stream=ScheduledEmail.Stream.MARKETING, sent_at__isnull=False)
    if since is not None:
        last = last.filter(sent_at__gt=since)
    window = last.order_by("-sent_at").values("pk")[:settings.DELIVERABILITY_BRAKE_WINDOW]
    return ScheduledEmail.objects.filter(pk__in=window)


def brake_window(*, since: datetime | None) -> Window:
    """One query: the window's rows (brake_window_rows) and, per row, an index probe for a complaint or a hard
    bounce among its events."""
    events = EmailEvent.objects.filter(scheduled_email=OuterRef("pk"))
    figures = brake_window_rows(since=since).aggregate(
        sent=Count("pk"),
        complaints=Count("pk", filter=Q(Exists(events.filter(event_type=EventType.COMPLAINED)))),
        hard_bounces=Count("pk", filter=Q(Exists(events.filter(bounce=EmailEvent.Bounce.HARD)))))
    return Window(**figures)


def brake_latest() -> SendingBrake | None:
    """The brake engaged now, or else the last one released (its release starts the next window)."""
    return SendingBrake.objects.order_by("-engaged_at", "-pk").first()


def brake_engaged() -> SendingBrake | None:
    return SendingBrake.objects.filter(engaged=True).first()


def brake_window_start(latest: SendingBrake | None) -> datetime | None:
    """Where `latest`'s window begins: after its own release, or, while it holds, after the release before it."""
    if latest is None:
        return None
    if not latest.engaged:
        return latest.released_at
    previous = (SendingBrake.objects.filter(engaged=False, engaged_at__lte=latest.engaged_at)
                .order_by("-engaged_at", "-pk").first())
    return previous.released_at if previous is not None else None


def brake_evaluate(*, latest: SendingBrake | None = None, known: bool = False) -> SendingBrake | None:
    """Engage the brake if the window has reached a stop limit; returns the engagement made here (None when it
    was already engaged, or need not be). Call it outside a transaction: the staff email follows the commit.
    `known`: the caller already read `latest` (brake_latest) in this batch."""
    if not known:
        latest = brake_latest()
    if latest is not None and latest.engaged:
        return None
    window = brake_window(since=brake_window_start(latest))
    cause = window.cause()
    if not cause:
        return None
    try:
        with transaction.atomic():
            brake = SendingBrake.objects.create(
                cause=cause, engaged_at=timezone.now(), sent=window.sent, complaints=window.complaints,
                hard_bounces=window.hard_bounces,
                threshold=thresholds.COMPLAINT_STOP if cause == Cause.COMPLAINTS else thresholds.HARD_BOUNCE_STOP)
    except IntegrityError:
        return None  # another worker engaged it a moment ago, and emails staff itself
    logger.warning("sending brake engaged: %s, %d complaints and %d hard bounces in the last %d marketing emails",
                   cause, window.complaints, window.hard_bounces, window.sent)
    brake_staff_notify(brake_id=brake.pk)
    return brake


def brake_staff_notify(*, brake_id: int) -> bool:
    """Email staff about an engagement, once: the row is marked before the mail leaves, so a second caller sends
    nothing; a failed send clears the mark again, for the next judgement to retry."""
    now = timezone.now()
    if not SendingBrake.objects.filter(pk=brake_id, staff_emailed_at__isnull=True).update(staff_emailed_at=now):
        return False
    brake = SendingBrake.objects.get(pk=brake_id)
    if not staff_alert_send(subject=f"Marketing email paused: {brake_summary(brake)}", body=_staff_message(brake),
                            about=f"sending brake {brake_id} engaged"):
        SendingBrake.objects.filter(pk=brake_id).update(staff_emailed_at=None)
        return False
    return True


def brake_summary(brake: SendingBrake) -> str:
    """The figures in one line, as the admin's banner and the staff email show them."""
    count, what = ((brake.complaints, "spam complaints") if brake.cause == Cause.COMPLAINTS
                   else (brake.hard_bounces, "hard bounces"))
    return (f"{count} {what} in the last {brake.sent} marketing emails ({brake.rate:.2%}, "
            f"stop limit {brake.threshold:.1%})")


def _staff_message(brake: SendingBrake) -> str:
    return (f"Since {brake.engaged_at:%Y-%m-%d %H:%M} UTC no marketing email is sent: {brake_summary(brake)}.\n"
            "Mailbox providers reject a sender's mail at these rates. Transactional mail (confirmations, sign-in "
            "links, receipts) still goes out; the marketing emails wait and none is lost.\n\n"
            "Find the cause (a bought or old list, a broadcast to the wrong segment, an email readers did not ask "
            "for), then resume sending from the admin's sending brake page, with a reason.")


@transaction.atomic
def brake_release(*, user: AbstractBaseUser, reason: str) -> SendingBrake | None:
    """Staff resume marketing mail. Records who, when, why and the window's figures now; None when no brake was
    engaged (someone released it first)."""
    brake = SendingBrake.objects.select_for_update().filter(engaged=True).first()
    if brake is None:
        return None
    window = brake_window(since=brake_window_start(brake))
    brake.engaged = False
    brake.released_at = timezone.now()
    brake.released_by_id = user.pk
    brake.release_reason = reason
    brake.released_sent, brake.released_complaints = window.sent, window.complaints
    brake.released_hard_bounces = window.hard_bounces
    brake.save(update_fields=["engaged", "released_at", "released_by", "release_reason", "released_sent",
                              "released_complaints", "released_hard_bounces"])
    logger.warning("sending brake %s released by user %s: %s", brake.pk, user.pk, reason)
    return brake

"""Per broadcast: its recipients and what they did, credited through the broadcast's own rows and signed links.

Definitions (shown on the report page):
- Recipients: the rows made when it was scheduled (the segment's readers who could be mailed then).
- Sent: rows handed to the ESP. Readers who unsubscribed, bounced, complained or paused before their send time are
  skipped, as are all the rows of a cancelled broadcast.
- Bounces / complaints: sent emails with at least one such ESP event.
- Unsubscribes: readers who unsubscribed with our link or preferences page and for whom this broadcast was the last
  marketing email sent before they did, plus "unsubscribed" events the ESP reported on it for readers who did not
  (also) use our link, so nobody counts twice.
- Human clicks / upgrade clicks: emails with at least one click through our signed redirect (any link / the
  upgrade link) by a person; mailbox scanners' clicks are left out.
- Purchases and revenue: readers who paid through this email's own signed link (refunded or disputed later
  included); net = gross minus refunds. Net revenue per recipient = net revenue / sent.

Six queries whatever the number of broadcasts, each on the broadcasts' rows (the partial index broadcast_email_idx).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q

from emails.broadcasts.models import Broadcast
from emails.models import BROADCAST_STEP_PREFIX, EmailEvent, ScheduledEmail
from funnel.dashboard.selectors.common import credit_clicks_and_purchases, rate

RECENT_BROADCASTS = 20


@dataclass
class BroadcastRow:
    broadcast: Broadcast
    recipients: int = 0
    sent: int = 0
    bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    clicked: int = 0
    upgrade_clicks: int = 0
    purchases: int = 0
    gross_cents: int = 0
    net_cents: int = 0

    @property
    def net_cents_per_recipient(self) -> float | None:
        return None if not self.sent else self.net_cents / self.sent

    def rate(self, name: str) -> float | None:
        return rate(getattr(self, name), self.sent)


def recent_broadcasts(limit: int = RECENT_BROADCASTS) -> list[Broadcast]:
    return list(Broadcast.objects.select_related("segment").order_by("-created_at", "-pk")[:limit])


def broadcast_reports(broadcasts: Iterable[Broadcast]) -> list[BroadcastRow]:
    """One row per broadcast, in the order given."""
    rows = {broadcast.step: BroadcastRow(broadcast=broadcast) for broadcast in broadcasts}
    if not rows:
        return []
    steps = list(rows)
    mine = Q(step__in=steps, step__startswith=BROADCAST_STEP_PREFIX)  # the partial index's condition, repeated
    via = "scheduled_email__"
    via_mine = Q(**{f"{via}step__in": steps, f"{via}step__startswith": BROADCAST_STEP_PREFIX})

    for item in ScheduledEmail.objects.filter(mine).values("step").annotate(
            n=Count("pk"), sent=Count("pk", filter=Q(sent_at__isnull=False))).order_by():
        rows[item["step"]].recipients, rows[item["step"]].sent = item["n"], item["sent"]

    events = (EmailEvent.objects.filter(via_mine, event_type__in=("bounced", "complained", "unsubscribed"))
              .exclude(event_type="unsubscribed", **{f"{via}lead__unsubscribed_at__isnull": False})
              .values(f"{via}step", "event_type").annotate(n=Count("scheduled_email_id", distinct=True)).order_by())
    for item in events:
        row = rows[item[f"{via}step"]]
        if item["event_type"] == "bounced":
            row.bounces = item["n"]
        elif item["event_type"] == "complained":
            row.complaints = item["n"]
        else:
            row.unsubscribes += item["n"]

    # Our own unsubscribes: no other marketing email reached the reader between this one and their unsubscribe.
    later_email = ScheduledEmail.objects.filter(
        lead=OuterRef("lead"), stream=ScheduledEmail.Stream.MARKETING, sent_at__gt=OuterRef("sent_at"),
        sent_at__lte=OuterRef("lead__unsubscribed_at"))
    unsubscribed = (ScheduledEmail.objects.filter(mine, sent_at__isnull=False, lead__unsubscribed_at__gte=F("sent_at"))
                    .exclude(Exists(later_email)).values("step").annotate(n=Count("pk")).order_by())
    for item in unsubscribed:
        rows[item["step"]].unsubscribes += item["n"]

    credit_clicks_and_purchases(rows, emails=via_mine, key="step")
    return list(rows.values())

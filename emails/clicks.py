"""Was a click through our redirect a person or a machine? Mailbox scanners fetch every link of a message.

Safe Links-style scanners (Microsoft, Barracuda, Proofpoint, Mimecast…) open links on delivery, from shared IPs,
often with HEAD, and all links of one message at once. A machine click is still recorded (the dashboard shows
both), but only human clicks are credited.
"""

import re
from datetime import datetime, timedelta

from emails.models import Click, EmailEvent, ScheduledEmail

# Substrings of the user agents mail-security scanners and generic bots send (case-insensitive).
SCANNER_AGENT = re.compile(
    r"safelinks|safe links|microsoft office|ms-office|barracuda|proofpoint|mimecast|symantec|forcepoint|"
    r"trendmicro|fortiguard|sophos|cisco|ironport|bot\b|bot/|crawler|spider|preview|scan|python-|curl/|wget/|"
    r"go-http-client|okhttp|headless",
    re.IGNORECASE,
)
# Scanners open a message's links as it is delivered; a person reading it takes longer than this.
AFTER_DELIVERY = timedelta(seconds=10)
# Every link of one message opened within this span is a scanner walking the message, not a reader.
BURST = timedelta(seconds=2)


def _just_delivered(row: ScheduledEmail, at: datetime) -> bool:
    moments = [row.sent_at] if row.sent_at else []
    moments += EmailEvent.objects.filter(scheduled_email=row, event_type="delivered").values_list(
        "occurred_at", flat=True)
    return any(moment <= at <= moment + AFTER_DELIVERY for moment in moments)


def click_machine_reason(*, row: ScheduledEmail | None, target: str, at: datetime, method: str,
                         user_agent: str) -> str:
    """Why this click looks like a machine's (a Click.Machine value), or "" for a person."""
    if method == "HEAD":
        return Click.Machine.HEAD
    if not user_agent.strip() or SCANNER_AGENT.search(user_agent):
        return Click.Machine.AGENT
    if row is None:
        return ""
    if _just_delivered(row, at):
        return Click.Machine.EARLY
    burst = Click.objects.filter(scheduled_email=row, created_at__gte=at - BURST, created_at__lte=at).exclude(
        target=target)
    if burst.exists():
        # The earlier clicks of the burst were credited as a person's when they came; they were not.
        burst.filter(machine="").update(machine=Click.Machine.BURST)
        return Click.Machine.BURST
    return ""

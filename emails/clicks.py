"""Was a click through our redirect a person or a machine? Mailbox scanners fetch every link of a message.

Safe Links-style scanners (Microsoft, Barracuda, Proofpoint, Mimecast…) open links on delivery, from shared IPs,
often with HEAD, and all links of one message at once. A machine click is still recorded (the dashboard shows
both), but only human clicks are credited.
"""

import re
from datetime import datetime, timedelta

from emails.engagement import click_human_record
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


# Only these marks can be wrong about a person: a fast reader opens a message as it arrives, or two links quickly.
# HEAD requests and scanner agents are never a person's.
_TIMING_MARKS = (Click.Machine.EARLY, Click.Machine.BURST)
PRESS_WINDOW = timedelta(hours=1)


def click_confirm_human(*, lead_id: int, row_id: int | None, target: str, at: datetime) -> int:
    """A press of a button that only a person makes (a CSRF-protected POST) after following this email's link:
    the reader's own click, marked a machine's for its timing alone, is a person's after all. Returns 0 or 1."""
    clicks = Click.objects.filter(lead_id=lead_id, scheduled_email_id=row_id, target=target,
                                  created_at__gte=at - PRESS_WINDOW, created_at__lte=at)
    if row_id is None or clicks.filter(machine=Click.Machine.HUMAN).exists():
        return 0
    newest = clicks.filter(machine__in=_TIMING_MARKS).order_by("-created_at").values_list("pk", flat=True)[:1]
    confirmed = Click.objects.filter(pk__in=list(newest)).update(machine=Click.Machine.HUMAN)
    if confirmed:
        click_human_record(lead_id=lead_id, how=f"pressed the button behind a link ({target}) in an email")
    return confirmed

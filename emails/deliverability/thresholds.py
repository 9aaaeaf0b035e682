"""The mailbox providers' limits that the rates are shown against (and a brake would act on).

Gmail asks bulk senders to keep the spam-complaint rate under 0.1 % and rejects at 0.3 % and above (Yahoo applies
the same 0.3 %); a hard-bounce rate over 2 % is the usual sign of an old or bought list. At 5 % hard bounces the
ESPs step in themselves (Amazon SES puts an account under review at 5 %; Postmark reviews a server well before its
10 %), so the brake (brake.py) stops marketing mail there, before the ESP suspends the whole account, receipts
and sign-in links with it.
"""

from __future__ import annotations

COMPLAINT_WARN = 0.001
COMPLAINT_STOP = 0.003
HARD_BOUNCE_WARN = 0.02
HARD_BOUNCE_STOP = 0.05

OK, WARN, STOP = "ok", "warn", "stop"


def rate_status(*, complaint_rate: float | None, hard_bounce_rate: float | None) -> str:
    """STOP at the complaint rate providers reject at; WARN from their asked-for limit or the hard-bounce limit."""
    complaints = complaint_rate or 0.0
    if complaints >= COMPLAINT_STOP:
        return STOP
    if complaints >= COMPLAINT_WARN or (hard_bounce_rate or 0.0) >= HARD_BOUNCE_WARN:
        return WARN
    return OK


def rate_status_note(*, complaint_rate: float | None, hard_bounce_rate: float | None) -> str:
    """The status with the limit it reached, as the dashboard shows it."""
    complaints, hard = complaint_rate or 0.0, hard_bounce_rate or 0.0
    reasons = []
    if complaints >= COMPLAINT_STOP:
        reasons.append(f"complaints ≥ {COMPLAINT_STOP:.1%}")
    elif complaints >= COMPLAINT_WARN:
        reasons.append(f"complaints ≥ {COMPLAINT_WARN:.1%}")
    if hard >= HARD_BOUNCE_WARN:
        reasons.append(f"hard bounces ≥ {HARD_BOUNCE_WARN:.0%}")
    status = rate_status(complaint_rate=complaint_rate, hard_bounce_rate=hard_bounce_rate)
    return f"{status}: {', '.join(reasons)}" if reasons else status

"""Telling a script from a person at a signup, from nothing but what the form carried: no database, no network.

Two traps, both invisible to a person:
- the honeypot: a field hidden from people (CSS and aria-hidden) that form-filling scripts fill in;
- the fill time: the form carries a stamp, the instant it was rendered, signed with SECRET_KEY. A person needs a
  few seconds to type an address and tick the box; a script posts at once, or posts without ever loading the
  page (no stamp), or edits the stamp (bad signature).

Every channel that signs people up calls `signup_bot_reason` with plain values (see README, "Bots and list
bombing"): the landing page form passes both fields; a JSON API passes its honeypot and `stamp=None` (an API
client renders no form, so there is no fill time to measure). The caller answers a bot exactly as it answers a
person and stores and sends nothing, so a script learns nothing from trying.
"""

import time

from django.conf import settings
from django.core import signing

HONEYPOT_FIELD = "website"  # a name bots love to fill; people never see the field
STAMP_FIELD = "form_stamp"
_SALT = "leads.bots.form-stamp"


def form_stamp_make(*, at: float | None = None) -> str:
    """The signed render time to put in a form's hidden STAMP_FIELD. `at` (seconds since the epoch) is for tests
    and walks that play a reader who took their time."""
    rendered = time.time() if at is None else at
    return signing.Signer(salt=_SALT).sign(f"{rendered:.3f}")


def signup_bot_reason(*, honeypot: str | None, stamp: str | None, now: float | None = None) -> str:
    """Why this submission is a bot's ("honeypot", "no-stamp", "bad-stamp", "too-fast"), or "" for a person.

    `honeypot`: the hidden field's value as posted (None or "" when empty). `stamp`: the STAMP_FIELD value as
    posted ("" when the form came without one); None when the channel has no rendered form (an API), which skips
    the fill-time check. SIGNUP_MIN_FILL_SECONDS = 0 turns the fill-time check off."""
    if str(honeypot or "").strip():
        return "honeypot"
    minimum = settings.SIGNUP_MIN_FILL_SECONDS
    if stamp is None or minimum <= 0:
        return ""
    if not stamp:
        return "no-stamp"
    try:
        rendered = float(signing.Signer(salt=_SALT).unsign(stamp))
    except (signing.BadSignature, ValueError):
        return "bad-stamp"
    elapsed = (time.time() if now is None else now) - rendered
    return "too-fast" if elapsed < minimum else ""

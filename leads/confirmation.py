"""The double opt-in link.

Choice: a *state* token (HMAC over the lead's subscription state + timestamp, see leads/tokens.py) that is
valid for 30 days, not a plain signed payload. The state is the lead's status and the time of its last
unsubscribe, so:
- once the lead is confirmed, the link stops confirming (single use without storing anything);
- a confirmation mailed after someone re-signed up can bring an unsubscribed lead back, but an OLD link
  (mailed before they unsubscribed) cannot undo that unsubscribe;
- 30 days is how long unconfirmed leads are kept anyway (then they are purged).
Link scanners (Outlook Safe Links, corporate gateways) fetch every URL in a mail, so the GET only shows a
button; the POST confirms.
"""

from datetime import timedelta

from leads import tokens
from leads.models import Lead

PURPOSE = "confirm"
MAX_AGE = timedelta(days=30)


# A subscribed lead whose mail soft-bounced in a row is asked to confirm again; confirming lifts the suppression,
# which changes the state and so uses the link up. (Only for that case: every other link keeps its state.)
SOFT_BOUNCED = f"{Lead.Status.SUBSCRIBED}:{{unsubscribed}}:{Lead.Suppression.SOFT_BOUNCE}"


def _state(lead: Lead) -> str:
    unsubscribed = int(lead.unsubscribed_at.timestamp()) if lead.unsubscribed_at else 0
    if lead.status == Lead.Status.SUBSCRIBED and lead.suppression == Lead.Suppression.SOFT_BOUNCE:
        return SOFT_BOUNCED.format(unsubscribed=unsubscribed)
    return f"{lead.status}:{unsubscribed}"


def confirm_is_due(lead: Lead) -> bool:
    """Whether a confirmation link could do something for this lead now."""
    return lead.status in (Lead.Status.PENDING, Lead.Status.UNSUBSCRIBED) or (
        lead.status == Lead.Status.SUBSCRIBED and lead.suppression == Lead.Suppression.SOFT_BOUNCE)


def confirm_token_make(lead: Lead) -> str:
    return tokens.make_state_token(PURPOSE, lead_id=lead.pk, state=_state(lead))


def confirm_token_lead(token: str) -> Lead:
    """The lead this token may still confirm; BadToken if tampered, expired, used or for another purpose."""
    lead_id = tokens.read_state_token_lead_id(token)
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None or not confirm_is_due(lead):
        raise tokens.BadToken("nothing to confirm")
    tokens.check_state_token(PURPOSE, token, lead_id=lead.pk, state=_state(lead),
                             max_age_seconds=int(MAX_AGE.total_seconds()))
    return lead


def confirm_token_already_used(token: str) -> bool:
    """True for a genuine link whose lead is confirmed by now: a second click (very common) deserves the
    guide, not an error page. Checked against the states the lead could have had when the link was made,
    so a forged token learns nothing."""
    try:
        lead = Lead.objects.filter(pk=tokens.read_state_token_lead_id(token), status=Lead.Status.SUBSCRIBED).first()
    except tokens.BadToken:
        return False
    if lead is None:
        return False
    unsubscribed = int(lead.unsubscribed_at.timestamp()) if lead.unsubscribed_at else 0
    for earlier in (f"{Lead.Status.PENDING}:{unsubscribed}", f"{Lead.Status.UNSUBSCRIBED}:{unsubscribed}",
                    SOFT_BOUNCED.format(unsubscribed=unsubscribed)):
        try:
            tokens.check_state_token(PURPOSE, token, lead_id=lead.pk, state=earlier,
                                     max_age_seconds=int(MAX_AGE.total_seconds()))
            return True
        except tokens.BadToken:
            continue
    return False

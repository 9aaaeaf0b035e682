"""One intake for a signup that arrives from another site (the JSON API or the embedded form): the landing form's
rate limit, honeypot, validation (SignupForm) and service (signup_submit), with the source set by us from the
embedding site, never taken from what the client sent."""

from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from funnel.embed.origins import origin_host
from funnel.landing.abuse import signup_refuse_bot
from funnel.landing.forms import SignupForm
from funnel.landing.services import signup_submit
from leads.bots import HONEYPOT_FIELD
from leads.client import client_ip, client_user_agent
from leads.consent import CONSENT_TEXT
from leads.ratelimit import rate_limit_hit

# What the reader fills in; every other field of SignupForm (the source) is ours to set.
READER_FIELDS = ("email", "first_name", "time_zone", "consent", "consent_version")


class Outcome(Enum):
    ACCEPTED = "accepted"
    LIMITED = "limited"  # over the per-IP signup limit, shared with the landing form
    BOT = "bot"  # the honeypot was filled: answered as a person would be, nothing stored or sent
    INVALID = "invalid"


@dataclass(frozen=True)
class Intake:
    outcome: Outcome
    form: SignupForm


def external_signup_take(*, request: HttpRequest, data: dict[str, Any], origin: str, medium: str,
                         consent_text: str = CONSENT_TEXT) -> Intake:
    """Validate and record a signup from another site. `origin` is the embedding site, already checked against
    SIGNUP_ALLOWED_ORIGINS ('' for a server-to-server API call); `medium` names the door ("api", "embed")."""
    fields = {name: data[name] for name in READER_FIELDS if name in data}
    fields.update(utm_source=origin_host(origin) if origin else medium, utm_medium=medium,
                  referrer=request.headers.get("Referer", "")[:500], landing_path="")
    form = SignupForm(fields)
    ip = client_ip(request)
    if rate_limit_hit(scope="signup", ip=ip, rate=settings.SIGNUP_RATE_LIMIT):
        return Intake(Outcome.LIMITED, form)
    # No fill-time stamp here: another site's static form or an API client has no form we rendered (stamp=None).
    if signup_refuse_bot(honeypot=str(data.get(HONEYPOT_FIELD) or ""), stamp=None):
        return Intake(Outcome.BOT, form)
    if not form.is_valid():
        return Intake(Outcome.INVALID, form)
    signup_submit(email=form.cleaned_data["email"], first_name=form.cleaned_data["first_name"],
                  time_zone=form.cleaned_data["time_zone"], ip_address=ip, user_agent=client_user_agent(request),
                  attribution=form.attribution(), consent_text=consent_text)
    return Intake(Outcome.ACCEPTED, form)

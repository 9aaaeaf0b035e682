"""`manage.py check --deploy`: the sender-domain check as a deploy check, when SENDER_CHECK_ON_DEPLOY is on.

Off by default, because bin/migrate runs `check --deploy --fail-level WARNING`: a release must not be refused on a
machine without DNS (make prod-check, CI, a sandbox) or for a domain still being set up. Switched on, every line
that fails or could not be checked is a Warning, so the release waits until the DNS is right and readable; a line
that only warns (DMARC p=none) is an Info.
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Info, Warning, register

from emails.deliverability.sender_check import Outcome, sender_report

TAG = "deliverability"


@register(TAG, deploy=True)
def sender_domain_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.SENDER_CHECK_ON_DEPLOY:
        return []
    messages: list[CheckMessage] = []
    for line in sender_report().lines:
        text = f"{line.domain} {line.record}: {line.detail}"
        hint = f"{line.fix} (manage.py sender_check shows every line)" if line.fix else "manage.py sender_check"
        if line.outcome == Outcome.FAIL:
            messages.append(Warning(text, hint=hint, id="emails.W101"))
        elif line.outcome == Outcome.UNCHECKED:
            messages.append(Warning(f"could not check {text}", hint=hint, id="emails.W102"))
        elif line.outcome == Outcome.WARN:
            messages.append(Info(text, hint=hint, id="emails.I101"))
    return messages

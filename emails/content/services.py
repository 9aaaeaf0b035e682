"""Writes to the copy of the emails: publishing a version. Every change adds a version; nothing is edited in place."""

from typing import Any

from django.db import transaction
from django.db.models import Max

from emails.content.models import EmailCopy
from emails.content.text import CopyText


@transaction.atomic
def copy_publish(*, step: str, text: CopyText, origin: str, user: Any = None, note: str = "") -> EmailCopy:
    """Make `text` the next published version of `step`: every email of that step rendered from now on uses it.

    The caller validates first. Versions of one step are numbered under a lock on the step's rows, so two
    publishes at once get two numbers rather than one failing on the unique constraint.
    """
    list(EmailCopy.objects.select_for_update().filter(step=step).values_list("pk", flat=True))
    latest = EmailCopy.objects.filter(step=step).aggregate(v=Max("version"))["v"] or 0
    return EmailCopy.objects.create(
        step=step, version=latest + 1, subject=text.subject, preheader=text.preheader, body=text.body,
        allow_external_links=text.allow_external_links, origin=origin, note=note[:200],
        created_by=user if getattr(user, "pk", None) else None)

"""Reads about leads that are more than one line."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from leads import privacy
from leads.models import Lead

_EXPORTED_LEAD_FIELDS = [
    "email", "first_name", "status", "time_zone", "created_at", "confirmed_at", "unsubscribed_at",
    "unsubscribe_reason", "paused_until", "reminders_stopped_at", "is_customer", "customer_since",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_path",
]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def lead_export(*, lead: Lead) -> dict[str, Any]:
    """Everything we hold about this person, as plain JSON-able values (the 'download my data' file).

    The lead, their consents and their suppression history come from here; the mail, money and app sections from
    the exporters other areas register in `leads.privacy` (they may import us, we may not import them)."""
    return {
        "lead": {name: _plain(getattr(lead, name)) for name in _EXPORTED_LEAD_FIELDS},
        "consents": [
            {"action": c.action, "at": c.created_at.isoformat(), "consent_version": c.consent_version,
             "consent_text": c.consent_text, "ip_address": c.ip_address, "user_agent": c.user_agent}
            for c in lead.consents.order_by("created_at", "pk")
        ],
        # What stopped our mail and who lifted it, with the reason: about the person, so theirs to see. Which staff
        # member it was is not (the staff user's own data): only that staff did it.
        "suppression_history": [
            {"action": s.action, "suppression": s.suppression, "reason": s.reason, "by_staff": bool(s.by),
             "at": s.created_at.isoformat()}
            for s in lead.suppression_changes.order_by("created_at", "pk")
        ],
        # Tags say what we noted about the person (an interest, a webinar): theirs to see, how each came, not which
        # staff member added it.
        "tags": sorted(lead.tags.values_list("name", flat=True)),
        "tag_history": [
            {"tag": t.tag, "action": t.action, "how": t.source, "at": t.created_at.isoformat()}
            for t in lead.tag_changes.order_by("created_at", "pk")
        ],
        **privacy.export_sections(lead),
    }


def leads_due_confirm_reminder(*, now: datetime, after: timedelta) -> QuerySet[Lead]:
    """Pending leads that signed up more than `after` ago and have not had their one reminder yet."""
    return Lead.objects.filter(
        status=Lead.Status.PENDING, confirm_reminder_sent_at__isnull=True, created_at__lte=now - after
    ).order_by("pk")


LEAD_CSV_COLUMNS = [
    "id", "email", "first_name", "status", "time_zone", "created_at", "confirmed_at", "unsubscribed_at",
    "paused_until", "suppression", "is_customer", "customer_since", "utm_source", "utm_medium", "utm_campaign",
    "utm_term", "utm_content",
]
CSV_CHUNK = 2000


def lead_csv_rows(*, leads: QuerySet[Lead]) -> Iterator[list[str]]:
    """The header, then one row per lead of `leads` (any filtered queryset: a segment, the admin list's filters),
    streamed in chunks of CSV_CHUNK so a million leads never sit in memory; tags last, separated by spaces.
    Cells are raw text: the writer escapes them (leads.spreadsheet.csv_cell)."""
    yield [*LEAD_CSV_COLUMNS, "tags"]
    rows = leads.order_by("pk").prefetch_related("tags").iterator(chunk_size=CSV_CHUNK)
    for lead in rows:
        values = [getattr(lead, "pk" if name == "id" else name) for name in LEAD_CSV_COLUMNS]
        cells = ["" if value is None else _plain(value) for value in values]
        yield [str(cell) for cell in cells] + [" ".join(tag.name for tag in lead.tags.all())]

"""One row of an import: its values checked with the signup form's own rules, then its outcome against the leads
we have (a chunk at a time, one query per chunk)."""

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from leads.imports.csvfile import Record
from leads.imports.models import LeadImportRow
from leads.mailbox import mailbox_sha256
from leads.models import Lead, tag_name_clean
from leads.time_zones import known_zones
from leads.validation import clean_first_name, normalise_email

Outcome = LeadImportRow.Outcome
CONSENT_SOURCE_MAX = 200
_TAG_SEPARATORS = re.compile(r"[,;|\s]+")


@dataclass
class ImportRow:
    line: int
    raw_email: str
    email: str = ""
    mailbox: str = ""
    first_name: str = ""
    time_zone: str = ""
    tags: list[str] = field(default_factory=list)
    consent_at: datetime | None = None
    consent_source: str = ""
    consent_ip: str | None = None
    outcome: str = ""
    detail: str = ""

    @property
    def importable(self) -> bool:
        return self.outcome in (Outcome.CONFIRMED, Outcome.PENDING)


def _consent_at(value: str, *, now: datetime) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValidationError(f"consent date {value!r} is not a date (use 2025-03-31 or 2025-03-31T14:05Z)")
        moment = datetime.combine(day, time(0), tzinfo=UTC)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise ValidationError(f"consent date {value} is in the future")
    return moment


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValidationError(f"consent IP {value!r} is not an IP address") from None


def row_parse(record: Record, *, columns: dict[str, int], width: int, now: datetime, default_zone: str) -> ImportRow:
    """The row's values, checked; an invalid one sets the outcome (and the reason) and stops there."""
    cells = record.cells

    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    row = ImportRow(line=record.line, raw_email=cell("email")[:254])
    try:
        row.email = normalise_email(row.raw_email)
    except ValidationError as error:
        row.outcome, row.detail = Outcome.INVALID_ADDRESS, error.messages[0]
        return row
    row.mailbox = mailbox_sha256(row.email)
    try:
        if len(record.cells) > width:
            raise ValidationError(f"the row has {len(record.cells)} cells, the header names {width}")
        row.first_name = clean_first_name(cell("first_name"))
        zone = cell("time_zone")
        if zone and zone not in known_zones():
            raise ValidationError(f"unknown time zone {zone!r} (use an IANA name such as Europe/Berlin)")
        row.time_zone = zone or default_zone
        row.tags = list(dict.fromkeys(tag_name_clean(name) for name in _TAG_SEPARATORS.split(cell("tags")) if name))
        if cell("consent_date"):
            row.consent_at = _consent_at(cell("consent_date"), now=now)
        row.consent_source = cell("consent_source")[:CONSENT_SOURCE_MAX]
        if cell("consent_ip"):
            row.consent_ip = _ip(cell("consent_ip"))
    except ValidationError as error:
        row.outcome, row.detail = Outcome.INVALID_VALUE, error.messages[0][:300]
    return row


def rows_classify(rows: list[ImportRow], *, seen: set[str]) -> None:
    """Set the outcome of every valid row: a mailbox already in the file (`seen`, grown here), one we already have
    (refused when any spelling of it unsubscribed or is suppressed: an import never resubscribes anyone), or new,
    confirmed when the row carries consent evidence (its date), else to be asked by email."""
    valid = [row for row in rows if not row.outcome]
    known: dict[str, list[Lead]] = {}
    emails = {row.email for row in valid}
    keys = {row.mailbox for row in valid}
    for lead in Lead.objects.filter(Q(mailbox_sha256__in=keys) | Q(email__in=emails)).only(
            "email", "status", "suppression", "mailbox_sha256"):
        for key in {lead.mailbox_sha256, mailbox_sha256(lead.email or "")}:
            known.setdefault(key, []).append(lead)
    for row in valid:
        if row.mailbox in seen:
            row.outcome, row.detail = Outcome.DUPLICATE, "an earlier row has the same mailbox"
            continue
        seen.add(row.mailbox)
        leads = known.get(row.mailbox, [])
        refusal = _refusal(leads)
        if refusal:
            row.outcome, row.detail = Outcome.REFUSED, refusal
        elif leads:
            same = any(lead.email == row.email for lead in leads)
            row.outcome = Outcome.EXISTING
            row.detail = "already a lead" if same else "another spelling of this mailbox is already a lead"
        elif row.consent_at is not None:
            row.outcome = Outcome.CONFIRMED
        else:
            row.outcome = Outcome.PENDING


def _refusal(leads: Iterable[Lead]) -> str:
    for lead in leads:
        if lead.suppression:
            return f"suppressed: {lead.get_suppression_display().lower()}"
        if lead.status in (Lead.Status.UNSUBSCRIBED, Lead.Status.ERASED):
            return "unsubscribed"
    return ""

"""Writes of an import, lead side: the upload, the column mapping, the dry run, each chunk's leads and the undo.

A chunk is one transaction: its leads, their consent records and tags, its report rows and the import's cursor
commit together, so a run killed at any moment resumes at the first row not committed and imports nothing twice
(the lead inserts are ON CONFLICT DO NOTHING besides). Confirmation emails and the sequence are not sent from here
(`leads` may not call `emails`): funnel/imports/services.py wraps each chunk and adds them in the same transaction.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leads.db import insert_columns_unless_conflict
from leads.imports.csvfile import Record, csv_check, csv_records
from leads.imports.models import FIELDS, LeadImport, LeadImportRow
from leads.imports.rows import ImportRow, row_parse, rows_classify
from leads.models import ConsentRecord, Lead, LeadTag, Tag, TagChange
from leads.services import email_sha256

Outcome = LeadImportRow.Outcome
IMPORTED_SOURCE = "import"  # the lead's utm_source: the dashboard counts imported leads as a source of their own


def lead_import_create(*, data: bytes, file_name: str, by: str) -> LeadImport:
    """Store an uploaded file after reading it whole (ImportFileError, and nothing stored, for a file that cannot
    be imported), with the column mapping guessed from its header."""
    checked = csv_check(data)
    return LeadImport.objects.create(
        file_name=file_name[:255], file_sha256=hashlib.sha256(data).hexdigest(), content=checked.text,
        delimiter=checked.delimiter, columns=checked.header, mapping=checked.mapping, total_rows=checked.rows,
        created_by=by[:150])


def mapping_clean(*, columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Field -> column with the empty choices left out; ValidationError for no email, an unknown or a reused column."""
    chosen = {name: column for name, column in mapping.items() if name in FIELDS and column}
    if "email" not in chosen:
        raise ValidationError("Choose the column that holds the email addresses.")
    unknown = [column for column in chosen.values() if column not in columns]
    if unknown:
        raise ValidationError(f"The file has no column {unknown[0]!r}.")
    if len(set(chosen.values())) != len(chosen):
        raise ValidationError("Each column can be mapped to one field only.")
    return chosen


def import_records(lead_import: LeadImport) -> Iterator[Record]:
    return csv_records(lead_import.content, delimiter=lead_import.delimiter)


def import_rows(lead_import: LeadImport, records: Iterator[Record], *, now: datetime) -> Iterator[ImportRow]:
    index = {column: n for n, column in enumerate(lead_import.columns)}
    columns = {name: index[column] for name, column in lead_import.mapping.items()}
    width, default_zone = len(lead_import.columns), settings.DRIP_DEFAULT_TIME_ZONE
    for record in records:
        yield row_parse(record, columns=columns, width=width, now=now, default_zone=default_zone)


def _chunks(rows: Iterator[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    chunk: list[ImportRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_BEFORE_IMPORT = (LeadImport.Status.UPLOADED, LeadImport.Status.CHECKING, LeadImport.Status.CHECKED)


@transaction.atomic
def lead_import_map(*, lead_import: LeadImport, mapping: dict[str, str], enrol: bool) -> None:
    """Store the column mapping and the enrolment choice; the dry run (a worker's, for a big file) comes next."""
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status not in _BEFORE_IMPORT:
        raise ValidationError("This import has started: its columns can no longer change.")
    lead_import.mapping = mapping_clean(columns=lead_import.columns, mapping=mapping)
    lead_import.enrol = enrol
    lead_import.status = LeadImport.Status.CHECKING
    lead_import.heartbeat_at = timezone.now()
    lead_import.save(update_fields=["mapping", "enrol", "status", "heartbeat_at"])


@transaction.atomic
def lead_import_dry_run(*, lead_import: LeadImport, mapping: dict[str, str] | None = None, enrol: bool = False,
                        chunk_size: int = 5000) -> dict[str, int]:
    """Check every row against the leads we have, changing no lead: the counts per outcome, and a report row for
    each row that would not come in (its line, address and reason). With `mapping`, store it (and `enrol`) first;
    without, use the stored ones. Returns the counts. One transaction: run again after a crash, it starts over."""
    if mapping is not None:
        lead_import_map(lead_import=lead_import, mapping=mapping, enrol=enrol)
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status != LeadImport.Status.CHECKING:
        raise ValidationError("This import is not waiting for a dry run.")
    LeadImportRow.objects.filter(lead_import=lead_import, dry_run=True).delete()
    counts: dict[str, int] = {}
    seen: set[str] = set()
    for chunk in _chunks(import_rows(lead_import, import_records(lead_import), now=timezone.now()), chunk_size):
        rows_classify(chunk, seen=seen)
        for row in chunk:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        LeadImportRow.objects.bulk_create([_dry_run_row(lead_import, row) for row in chunk if not row.importable])
    lead_import.dry_run_counts = counts
    lead_import.status = LeadImport.Status.CHECKED
    lead_import.save(update_fields=["dry_run_counts", "status"])
    return counts


def _dry_run_row(lead_import: LeadImport, row: ImportRow) -> LeadImportRow:
    return LeadImportRow(lead_import=lead_import, dry_run=True, line=row.line, outcome=row.outcome,
                         detail=row.detail[:300], email=row.raw_email[:254])


@transaction.atomic
def lead_import_queue(*, lead_import: LeadImport) -> bool:
    """The dry run was read and the import ordered: a worker picks it up. False when it was not waiting for that."""
    changed = LeadImport.objects.filter(pk=lead_import.pk, status=LeadImport.Status.CHECKED).update(
        status=LeadImport.Status.QUEUED, heartbeat_at=timezone.now())
    return bool(changed)


@transaction.atomic
def lead_import_begin(*, import_id: int) -> LeadImport | None:
    """A worker takes a queued (or resumed) import; None when there is nothing to run."""
    lead_import = LeadImport.objects.select_for_update().get(pk=import_id)
    if lead_import.status not in (LeadImport.Status.QUEUED, LeadImport.Status.RUNNING):
        return None
    if lead_import.status == LeadImport.Status.QUEUED:
        lead_import.status = LeadImport.Status.RUNNING
        lead_import.started_at = lead_import.started_at or timezone.now()
    lead_import.heartbeat_at = timezone.now()
    lead_import.save(update_fields=["status", "started_at", "heartbeat_at"])
    return lead_import


@dataclass
class ChunkResult:
    confirmed: list[Lead] = field(default_factory=list)  # id and time_zone only
    pending: list[int] = field(default_factory=list)
    pending_before: int = 0  # how many rows of earlier chunks were asked to confirm (to pace the emails)


def lead_import_chunk(*, lead_import: LeadImport, rows: list[ImportRow], seen: set[str], now: datetime) -> ChunkResult:
    """Import one chunk, in the caller's transaction, with `lead_import` locked by the caller (select_for_update)
    and its cursor at this chunk's first row. Set-based: a few statements per chunk, whatever its size."""
    rows_classify(rows, seen=seen)
    wanted = [row for row in rows if row.importable]
    n = len(wanted)
    confirmed = [row.outcome == Outcome.CONFIRMED for row in wanted]
    # ON CONFLICT DO NOTHING: a signup racing the chunk keeps its own lead, and the row says so.
    ours = {email: pk for pk, email in insert_columns_unless_conflict(Lead, {
        "email": [row.email for row in wanted], "first_name": [row.first_name for row in wanted],
        "time_zone": [row.time_zone for row in wanted], "mailbox_sha256": [row.mailbox for row in wanted],
        "status": [Lead.Status.SUBSCRIBED.value if yes else Lead.Status.PENDING.value for yes in confirmed],
        "confirmed_at": [now if yes else None for yes in confirmed], "created_at": [now] * n,
        "utm_source": [IMPORTED_SOURCE] * n, "utm_medium": ["csv"] * n,
        "utm_campaign": [f"import-{lead_import.pk}"] * n,
    }, returning="email")}
    result = ChunkResult(pending_before=lead_import.counts.get(Outcome.PENDING, 0))
    for row in wanted:
        if row.email not in ours:
            row.outcome, row.detail = Outcome.EXISTING, "signed up while the import ran"
    created = [row for row in wanted if row.email in ours]
    _consents_record(lead_import, [row for row in created if row.outcome == Outcome.CONFIRMED], ours, now=now)
    _tags_add(created, ours, now=now)
    lead_ids = [ours[row.email] if row.importable else None for row in rows]
    insert_columns_unless_conflict(LeadImportRow, {
        "lead_import_id": [lead_import.pk] * len(rows), "dry_run": [False] * len(rows),
        "line": [row.line for row in rows], "outcome": [str(row.outcome) for row in rows],
        "detail": [row.detail[:300] for row in rows], "lead_id": lead_ids,
        "email": ["" if lead_id else row.raw_email[:254] for row, lead_id in zip(rows, lead_ids, strict=True)],
    })
    for row in created:
        if row.outcome == Outcome.CONFIRMED:
            result.confirmed.append(Lead(pk=ours[row.email], time_zone=row.time_zone))
        else:
            result.pending.append(ours[row.email])
    counts = dict(lead_import.counts)
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    lead_import.counts = counts
    lead_import.cursor += len(rows)
    lead_import.heartbeat_at = timezone.now()
    lead_import.save(update_fields=["counts", "cursor", "heartbeat_at"])
    return result


def _consents_record(lead_import: LeadImport, rows: list[ImportRow], ids: dict[str, int], *, now: datetime) -> None:
    """Each confirmed row's proof: the import (file, its SHA-256, who, when) and the evidence columns as written."""
    cited = (f"Imported from “{lead_import.file_name}” (SHA-256 {lead_import.file_sha256}), import "
             f"#{lead_import.pk}, by {lead_import.created_by} on {now:%Y-%m-%d %H:%M} UTC.")
    insert_columns_unless_conflict(ConsentRecord, {
        "lead_id": [ids[row.email] for row in rows], "email_sha256": [email_sha256(row.email) for row in rows],
        "action": [ConsentRecord.Action.IMPORT.value] * len(rows),
        "consent_version": [f"import-{lead_import.pk}"] * len(rows),
        "ip_address": [row.consent_ip for row in rows], "created_at": [now] * len(rows),
        "consent_text": [f"{cited} Evidence in the file (line {row.line}): consent given "
                         f"{row.consent_at:%Y-%m-%d %H:%M} UTC; source: {row.consent_source or '–'}; "
                         f"IP: {row.consent_ip or '–'}." for row in rows],
    })


def _tags_add(rows: list[ImportRow], ids: dict[str, int], *, now: datetime) -> None:
    """lead_tag_add's rows for a whole chunk at once: the tags (made on first use), the lead's tags, the timeline."""
    names = sorted({name for row in rows for name in row.tags})
    if not names:
        return
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    pairs = [(ids[row.email], name) for row in rows for name in row.tags]
    insert_columns_unless_conflict(LeadTag, {"lead_id": [lead_id for lead_id, _ in pairs],
                                             "tag_id": [tag_ids[name] for _, name in pairs],
                                             "created_at": [now] * len(pairs)})
    insert_columns_unless_conflict(TagChange, {
        "lead_id": [lead_id for lead_id, _ in pairs], "tag": [name for _, name in pairs],
        "action": [TagChange.Action.ADDED.value] * len(pairs), "source": [TagChange.Source.IMPORT.value] * len(pairs),
        "created_at": [now] * len(pairs)})


@transaction.atomic
def lead_import_finish(*, lead_import: LeadImport) -> None:
    """Every row is in. The file itself goes: its report rows and SHA-256 are what is kept (data minimisation)."""
    lead_import.status = LeadImport.Status.DONE
    lead_import.finished_at = timezone.now()
    lead_import.content = ""
    lead_import.save(update_fields=["status", "finished_at", "content"])


@transaction.atomic
def lead_import_undo(*, lead_import: LeadImport, keep: dict[int, str], by: str, batch: int = 1000) -> int:
    """Remove the leads this import created, except those in `keep` (lead id -> what they did since), which stay,
    listed in the report. Returns how many were removed."""
    lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
    if lead_import.status != LeadImport.Status.DONE:
        raise ValidationError("Only a finished import can be undone.")
    created = list(LeadImportRow.objects.filter(lead_import=lead_import, dry_run=False, lead__isnull=False)
                   .values_list("pk", "lead_id"))
    for row_id, lead_id in created:
        if lead_id in keep:
            LeadImportRow.objects.filter(pk=row_id).update(kept=keep[lead_id][:300])
    doomed = [lead_id for _, lead_id in created if lead_id not in keep]
    for start in range(0, len(doomed), batch):
        Lead.objects.filter(pk__in=doomed[start:start + batch]).delete()
    lead_import.status = LeadImport.Status.UNDONE
    lead_import.undone_at = timezone.now()
    lead_import.undone_by = by[:150]
    lead_import.save(update_fields=["status", "undone_at", "undone_by"])
    return len(doomed)

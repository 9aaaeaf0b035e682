"""Running, resuming and undoing an import: `leads` makes the leads, this adds what needs `emails` in the same
transaction as each chunk (paced confirmation emails for the rows without consent evidence, the sequence for the
confirmed rows when chosen), so a chunk's leads and their mail commit together or not at all."""

import contextlib
import logging
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from emails.broker import task_publish
from emails.models import Click, ScheduledEmail
from emails.services import dispatcher_kick, sequence_enrol
from leads.db import insert_columns_unless_conflict
from leads.imports import services as imports
from leads.imports.models import LeadImport, LeadImportRow
from leads.imports.selectors import import_leads_acted

log = logging.getLogger(__name__)
# The confirmation email's step, as the signup form queues it; the key names the import (one per lead and import).
CONFIRM_STEP = "confirm"


def _publish(import_id: int, *, dry_run: bool = False) -> None:
    from funnel.tasks import lead_import_check, lead_import_run  # the task module imports this one

    task_publish(lead_import_check if dry_run else lead_import_run, import_id)


@transaction.atomic
def import_check(*, lead_import: LeadImport, mapping: dict[str, str], enrol: bool) -> None:
    """Store the mapping and have a worker run the dry run: a big file takes longer than a web request may."""
    imports.lead_import_map(lead_import=lead_import, mapping=mapping, enrol=enrol)
    transaction.on_commit(lambda: _publish(lead_import.pk, dry_run=True))


def import_check_run(*, import_id: int) -> str:
    """The worker's dry run (funnel.tasks.lead_import_check). Returns the status."""
    lead_import = LeadImport.objects.get(pk=import_id)
    # Refused when it is not waiting for one (any more): another worker's run of the same dry run finished first.
    with contextlib.suppress(ValidationError):
        imports.lead_import_dry_run(lead_import=lead_import)
    return LeadImport.objects.values_list("status", flat=True).get(pk=import_id)


@transaction.atomic
def import_start(*, lead_import: LeadImport) -> bool:
    """Order the import (after its dry run): a worker runs it. False when it was not waiting to be started."""
    if not imports.lead_import_queue(lead_import=lead_import):
        return False
    transaction.on_commit(lambda: _publish(lead_import.pk))
    return True


def import_run(*, import_id: int, chunk_size: int | None = None) -> str:
    """Import the rows from the committed cursor on, a chunk per transaction. Safe to run twice at once or after a
    crash: each chunk locks the import and goes on only from the cursor this run expects. Returns the status."""
    lead_import = imports.lead_import_begin(import_id=import_id)
    if lead_import is None:
        return LeadImport.objects.values_list("status", flat=True).get(pk=import_id)
    size = chunk_size or settings.LEAD_IMPORT_CHUNK_ROWS
    now = timezone.now()
    rows = imports.import_rows(lead_import, imports.import_records(lead_import), now=now)
    seen: set[str] = set()
    position = lead_import.cursor
    # Rows committed by an earlier run: skipped, but their mailboxes still make a later row a duplicate.
    seen.update(row.mailbox for row in islice(rows, position) if row.mailbox and not row.outcome)
    while True:
        chunk = list(islice(rows, size))
        with transaction.atomic():
            locked = LeadImport.objects.select_for_update().get(pk=import_id)
            if locked.status != LeadImport.Status.RUNNING or locked.cursor != position:
                return locked.status  # finished, undone, or another worker is ahead of this one
            if not chunk:
                imports.lead_import_finish(lead_import=locked)
                log.info("import %s done: %s", import_id, locked.counts)
                return LeadImport.Status.DONE
            result = imports.lead_import_chunk(lead_import=locked, rows=chunk, seen=seen, now=timezone.now())
            _confirmations_queue(locked, result.pending, before=result.pending_before)
            if locked.enrol:
                for lead in result.confirmed:
                    sequence_enrol(lead=lead)
        position += len(chunk)


def _confirmations_queue(lead_import: LeadImport, lead_ids: list[int], *, before: int) -> None:
    """One confirmation email per new unconfirmed lead, spread at LEAD_IMPORT_CONFIRMATIONS_PER_HOUR from the
    import's start: a list of strangers' addresses sent at once would look like spam to every mailbox provider.
    The transactional lane's dispatcher sends each when it is due, under the same rules as a signup's."""
    if not lead_ids:
        return
    gap = timedelta(hours=1) / settings.LEAD_IMPORT_CONFIRMATIONS_PER_HOUR
    start = lead_import.started_at or timezone.now()
    key = f"import-{lead_import.pk}"
    insert_columns_unless_conflict(ScheduledEmail, {
        "lead_id": lead_ids, "step": [CONFIRM_STEP] * len(lead_ids), "key": [key] * len(lead_ids),
        "stream": [ScheduledEmail.Stream.TRANSACTIONAL.value] * len(lead_ids),
        "send_at": [start + gap * (before + n) for n in range(len(lead_ids))]})
    transaction.on_commit(lambda: dispatcher_kick(transactional=True))


def imports_resume(*, now: datetime | None = None, stale_after: timedelta | None = None) -> int:
    """Dry runs and imports whose heartbeat stopped (the worker died, or the broker lost the task) are handed to a
    worker again: a dry run starts over, an import resumes at its committed cursor. Beat runs this. Returns how
    many."""
    now = now or timezone.now()
    stale_after = stale_after if stale_after is not None else timedelta(seconds=settings.LEAD_IMPORT_STALE_SECONDS)
    waiting = [LeadImport.Status.CHECKING, LeadImport.Status.QUEUED, LeadImport.Status.RUNNING]
    stalled = list(LeadImport.objects.filter(status__in=waiting, heartbeat_at__lte=now - stale_after)
                   .values_list("pk", "status"))
    for import_id, status in stalled:
        log.warning("import %s stalled (%s): handing it to a worker again", import_id, status)
        LeadImport.objects.filter(pk=import_id).update(heartbeat_at=now)
        _publish(import_id, dry_run=status == LeadImport.Status.CHECKING)
    return len(stalled)


def import_leads_kept(*, lead_import: LeadImport) -> dict[int, str]:
    """Lead id -> what they did since the import: the lead side's answer plus a click in any of our emails."""
    acted = import_leads_acted(lead_import=lead_import)
    human_click = Click.objects.filter(lead=OuterRef("lead_id"), machine=Click.Machine.HUMAN)
    clicked = (LeadImportRow.objects.filter(lead_import=lead_import, dry_run=False, lead__isnull=False)
               .filter(Exists(human_click)).values_list("lead_id", flat=True))
    for lead_id in clicked:
        acted.setdefault(lead_id, "clicked a link in an email")
    return acted


@transaction.atomic
def import_undo(*, lead_import: LeadImport, by: str) -> tuple[int, dict[int, str]]:
    """Remove the leads the import created (their unsent mail goes with them), except those that did something
    since, which are kept and listed. Returns (removed, kept)."""
    kept = import_leads_kept(lead_import=lead_import)
    removed = imports.lead_import_undo(lead_import=lead_import, keep=kept, by=by)
    return removed, kept

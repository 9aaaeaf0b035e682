"""Reads of an import: its report as CSV rows, and which of its leads did something since (undo keeps those)."""

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, Q

from leads.imports.models import FIELDS, LeadImport, LeadImportRow
from leads.models import ConsentRecord, Lead, TagChange

REPORT_HEADER = ["line", "email", "outcome", "detail", "kept after undo"]


def import_report_rows(*, lead_import: LeadImport, dry_run: bool) -> Iterator[list[str]]:
    """The header, then one row per line of the file the report holds (the dry run holds only the rows that would
    not come in). Cells are raw: the CSV writer neutralises formulas (leads.spreadsheet.csv_cell)."""
    yield REPORT_HEADER
    rows = (LeadImportRow.objects.filter(lead_import=lead_import, dry_run=dry_run).order_by("line")
            .values_list("line", "email", "lead__email", "outcome", "detail", "kept"))
    labels = dict(LeadImportRow.Outcome.choices)
    for line, email, lead_email, outcome, detail, kept in rows.iterator(chunk_size=5000):
        yield [str(line), email or lead_email or "", labels.get(outcome, outcome), detail, kept]


def import_mapping_labels(*, lead_import: LeadImport) -> list[tuple[str, str]]:
    return [(label, lead_import.mapping.get(name, "")) for name, label in FIELDS.items()]


def import_leads_acted(*, lead_import: LeadImport) -> dict[int, str]:
    """Lead id -> what they did since the import, for the leads it created that did anything a person does here:
    confirmed, unsubscribed, bought, signed in, paused, asked for their data, were suppressed, were tagged other
    than by the import, or gave any consent since. (Clicks are `emails`' to know: funnel/imports adds them.)"""
    ids = LeadImportRow.objects.filter(lead_import=lead_import, dry_run=False, lead__isnull=False).values("lead_id")
    later_consent = ConsentRecord.objects.filter(lead=OuterRef("pk")).exclude(action=ConsentRecord.Action.IMPORT)
    other_tags = TagChange.objects.filter(lead=OuterRef("pk")).exclude(source=TagChange.Source.IMPORT)
    checks = [
        ("confirmed their address", Q(status=Lead.Status.SUBSCRIBED, confirmed_at__gt=lead_import.started_at)
         & Q(Exists(later_consent))),
        ("unsubscribed", Q(status=Lead.Status.UNSUBSCRIBED)),
        ("erased", Q(status=Lead.Status.ERASED)),
        ("bought", Q(is_customer=True) | Q(customer_since__isnull=False)),
        ("signed in", Q(last_sign_in_at__isnull=False)),
        ("paused or stopped the reminders", Q(paused_until__isnull=False) | Q(reminders_stopped_at__isnull=False)),
        ("asked for their data", Q(privacy_link_used_at__isnull=False)),
        ("suppressed by the ESP", ~Q(suppression="")),
        ("tagged since", Q(Exists(other_tags))),
        ("consented since", Q(Exists(later_consent))),
    ]
    acted: dict[int, str] = {}
    leads = Lead.objects.filter(pk__in=ids)
    for reason, condition in checks:
        for lead_id in leads.filter(condition).values_list("pk", flat=True):
            acted.setdefault(lead_id, reason)
    return acted

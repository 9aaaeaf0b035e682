"""`manage.py leads_import FILE`: the admin's import from a shell, run in this process (the same services).

    manage.py leads_import leads.csv --dry-run --report report.csv     check every row, change nothing
    manage.py leads_import leads.csv --map first_name=Vorname --enrol   import (confirmed rows start the sequence)
    manage.py leads_import --undo 12                                   remove what import #12 created
"""

import csv
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.imports.services import import_run, import_undo
from leads.imports import services as imports
from leads.imports.csvfile import MAX_FILE_BYTES, ImportFileError
from leads.imports.models import FIELDS, LeadImport, LeadImportRow
from leads.imports.selectors import import_report_rows
from leads.spreadsheet import csv_cell


class Command(BaseCommand):
    help = "Import leads from a CSV file (dry run first with --dry-run), or undo an import with --undo ID."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help=f"which column holds a field ({', '.join(FIELDS)}); guessed from the header")
        parser.add_argument("--dry-run", action="store_true", help="check every row and report; change nothing")
        parser.add_argument("--enrol", action="store_true", help="start the sequence for the confirmed rows")
        parser.add_argument("--by", default="manage.py leads_import", help="who imports (cited in consent records)")
        parser.add_argument("--report", type=Path, help="write the per-row report to this CSV file")
        parser.add_argument("--undo", type=int, metavar="ID", help="undo the finished import with this id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["undo"]:
            self._undo(options["undo"], by=options["by"])
            return
        if options["file"] is None:
            raise CommandError("Give the CSV file to import (or --undo ID).")
        lead_import = self._create(options["file"], by=options["by"])
        mapping = dict(lead_import.mapping)
        for item in options["map"]:
            name, _, column = item.partition("=")
            if name not in FIELDS:
                raise CommandError(f"--map {item}: the fields are {', '.join(FIELDS)}")
            mapping[name] = column
        try:
            counts = imports.lead_import_dry_run(lead_import=lead_import, mapping=mapping, enrol=options["enrol"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self._counts("Dry run", counts)
        if options["dry_run"]:
            self._report(lead_import, options["report"], dry_run=True)
            self.stdout.write(f"Nothing changed. Import #{lead_import.pk} can be started from the admin.")
            return
        lead_import.refresh_from_db()
        imports.lead_import_queue(lead_import=lead_import)
        import_run(import_id=lead_import.pk)
        lead_import.refresh_from_db()
        self._counts(f"Import #{lead_import.pk}", lead_import.counts)
        self._report(lead_import, options["report"], dry_run=False)

    def _create(self, file: Path, *, by: str) -> LeadImport:
        try:
            with file.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        try:
            return imports.lead_import_create(data=data, file_name=file.name, by=by)
        except ImportFileError as error:
            raise CommandError(f"{file.name}: {error} Nothing was imported.") from None

    def _counts(self, title: str, counts: dict[str, int]) -> None:
        self.stdout.write(f"{title}:")
        for value, label in LeadImportRow.Outcome.choices:
            if counts.get(value):
                self.stdout.write(f"  {label}: {counts[value]}")

    def _report(self, lead_import: LeadImport, path: Path | None, *, dry_run: bool) -> None:
        if path is None:
            return
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            for row in import_report_rows(lead_import=lead_import, dry_run=dry_run):
                writer.writerow([csv_cell(cell) for cell in row])
        self.stdout.write(f"Report written to {path}")

    def _undo(self, import_id: int, *, by: str) -> None:
        lead_import = LeadImport.objects.filter(pk=import_id).first()
        if lead_import is None:
            raise CommandError(f"There is no import #{import_id}.")
        try:
            removed, kept = import_undo(lead_import=lead_import, by=by)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Removed {removed} lead(s) of import #{import_id}; kept {len(kept)} who did something "
                          "since:")
        for lead_id, reason in sorted(kept.items()):
            self.stdout.write(f"  lead #{lead_id}: {reason}")

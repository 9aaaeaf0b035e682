"""`manage.py leads_import FILE`: the dry run with its report file, the import, the undo, and a bad file refused
with its message (nothing stored)."""

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leads.imports.models import LeadImport
from leads.models import Lead
from tests.imports.conftest import csv_file

pytestmark = pytest.mark.django_db


def _write(tmp_path: Path, data: bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_dry_run_then_import_then_undo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Lead.objects.create(email="gone@example.com", status=Lead.Status.UNSUBSCRIBED)
    data = csv_file([["ann@example.com", "Ann"], ["gone@example.com", "Gone"], ["nope", "No"]],
                    header=["Mail", "Vorname"])
    path, out = _write(tmp_path, data), tmp_path / "report.csv"

    call_command("leads_import", str(path), "--map", "first_name=Vorname", "--dry-run", "--report", str(out))
    printed = capsys.readouterr().out
    assert "Imported, asked to confirm by email: 1" in printed and "Nothing changed" in printed
    assert [row[1:3] for row in csv.reader(out.open())] == [
        ["email", "outcome"], ["gone@example.com", "Suppressed or unsubscribed"], ["nope", "Invalid address"]]
    assert Lead.objects.count() == 1

    call_command("leads_import", str(path), "--by", "ops")
    printed = capsys.readouterr().out
    lead_import = LeadImport.objects.latest("pk")
    assert f"Import #{lead_import.pk}:" in printed and lead_import.status == LeadImport.Status.DONE
    ann = Lead.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.status) == ("Ann", Lead.Status.PENDING)

    call_command("leads_import", "--undo", str(lead_import.pk))
    assert "Removed 1 lead(s)" in capsys.readouterr().out
    assert not Lead.objects.filter(email="ann@example.com").exists()


def test_a_bad_file_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    path = _write(tmp_path, "email\nänn@example.com\n".encode("cp1252"))
    with pytest.raises(CommandError, match="not UTF-8 text.*Nothing was imported"):
        call_command("leads_import", str(path))
    assert not LeadImport.objects.exists() and not Lead.objects.exists()

"""An import of a file with every kind of row: the dry run's report says what will happen to each, changing nothing;
the import does exactly that (confirmed with a consent record citing the file, or asked to confirm by a paced
email; tags in the timeline); nobody who unsubscribed, complained or bounced is added back; undo removes what it
created except the people who did something since. Runs on SQLite and on PostgreSQL."""

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from emails.models import Click, ScheduledEmail
from funnel.dashboard.timeline import lead_timeline
from funnel.imports.services import import_run, import_start, import_undo
from funnel.landing.services import sequence_enrol_missing, signup_confirm
from leads.imports import services as imports
from leads.imports.csvfile import ImportFileError
from leads.imports.models import LeadImport, LeadImportRow
from leads.imports.selectors import import_report_rows
from leads.models import ConsentRecord, Lead, TagChange
from leads.services import lead_unsubscribe
from tests.imports.conftest import EVERY_KIND, csv_file, every_kind_file

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
MAPPING = {"email": "Email", "first_name": "First name", "time_zone": "Time zone", "tags": "Tags",
           "consent_date": "Consent date", "consent_source": "Consent source", "consent_ip": "Consent IP"}


def _upload(data: bytes, name: str = "webinar.csv") -> LeadImport:
    return imports.lead_import_create(data=data, file_name=name, by="ida")


def _run(lead_import: LeadImport, *, enrol: bool = False, chunk_size: int = 4) -> LeadImport:
    imports.lead_import_dry_run(lead_import=lead_import, mapping=MAPPING, enrol=enrol)
    lead_import.refresh_from_db()
    assert import_start(lead_import=lead_import)
    import_run(import_id=lead_import.pk, chunk_size=chunk_size)
    lead_import.refresh_from_db()
    return lead_import


def _lead_snapshot() -> list[tuple[object, ...]]:
    return list(Lead.objects.order_by("pk").values_list("email", "status", "suppression", "first_name"))


@time_machine.travel(NOW, tick=False)
def test_the_dry_run_reports_every_kind_of_bad_row_and_changes_nothing(known_leads: dict[str, Lead]) -> None:
    before = _lead_snapshot()
    lead_import = _upload(every_kind_file())
    assert lead_import.mapping == MAPPING, "the header's names are recognised"

    counts = imports.lead_import_dry_run(lead_import=lead_import, mapping=MAPPING, enrol=False)

    expected: dict[str, int] = {}
    for _, _, outcome, _ in EVERY_KIND:
        expected[outcome] = expected.get(outcome, 0) + 1
    assert counts == expected
    rows = list(import_report_rows(lead_import=lead_import, dry_run=True))
    assert rows[0] == ["line", "email", "outcome", "detail", "kept after undo"]
    labels = dict(LeadImportRow.Outcome.choices)
    refused = [(line, cells[0], labels[outcome]) for line, cells, outcome, _ in EVERY_KIND
               if outcome not in ("confirmed", "pending")]
    assert [(int(r[0]), r[1], r[2]) for r in rows[1:]] == refused
    for (_, _, _, words), row in zip([k for k in EVERY_KIND if k[2] not in ("confirmed", "pending")], rows[1:],
                                     strict=True):
        assert words.lower() in row[3].lower(), row
    assert _lead_snapshot() == before
    assert not ConsentRecord.objects.exists() and not ScheduledEmail.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_import_brings_in_the_good_rows_and_never_resubscribes_anyone(known_leads: dict[str, Lead],
                                                                          settings: object) -> None:
    settings.LEAD_IMPORT_CONFIRMATIONS_PER_HOUR = 60  # type: ignore[attr-defined]
    data = every_kind_file()
    lead_import = _run(_upload(data))

    assert lead_import.status == LeadImport.Status.DONE
    assert lead_import.cursor == lead_import.total_rows == len(EVERY_KIND)
    assert lead_import.counts == lead_import.dry_run_counts, "the import did what its dry run said"
    assert lead_import.content == "", "the file itself is not kept once imported"

    ann = Lead.objects.get(email="ann@example.com")
    assert (ann.status, ann.first_name, ann.time_zone, ann.confirmed_at) == (
        Lead.Status.SUBSCRIBED, "Ann", "Europe/Berlin", NOW)
    assert set(ann.tags.values_list("name", flat=True)) == {"webinar-may", "vip"}
    consent = ann.consents.get()
    assert consent.action == ConsentRecord.Action.IMPORT and consent.ip_address == "203.0.113.7"
    for cited in ("webinar.csv", hashlib.sha256(data).hexdigest(), "by ida", "2026-05-04 09:30",
                  "2025-03-01 00:00", "webinar signup", "203.0.113.7"):
        assert cited in consent.consent_text
    titles = [entry.title for entry in lead_timeline(lead=ann)]
    assert "Tag added: vip" in titles and "Consent: Imported with consent evidence" in titles
    assert set(TagChange.objects.filter(lead=ann).values_list("source", flat=True)) == {TagChange.Source.IMPORT}

    pending = Lead.objects.filter(email__in=["bob@example.com", "vic@example.com"]).order_by("email")
    assert [lead.status for lead in pending] == [Lead.Status.PENDING] * 2
    assert not ConsentRecord.objects.filter(lead__in=pending).exists()
    confirmations = list(ScheduledEmail.objects.filter(step="confirm").order_by("send_at"))
    assert [row.lead.email for row in confirmations] == ["bob@example.com", "vic@example.com"]
    assert [row.send_at for row in confirmations] == [NOW, NOW + timedelta(minutes=1)], "paced, not a burst"
    assert {row.stream for row in confirmations} == {ScheduledEmail.Stream.TRANSACTIONAL}
    # A formula is stored as the text it is; exported, it is neutralised (leads.spreadsheet.csv_cell).
    vic = Lead.objects.get(email="vic@example.com")
    assert vic.first_name == "=SUM(A1:A3)"
    rows = list(import_report_rows(lead_import=lead_import, dry_run=False))
    assert len(rows) == 1 + len(EVERY_KIND)
    assert LeadImportRow.objects.filter(dry_run=False, lead__isnull=False).count() == 3, "only the rows it created"

    for name, lead in known_leads.items():
        fresh = Lead.objects.get(pk=lead.pk)
        assert (fresh.status, fresh.suppression, fresh.first_name) == (lead.status, lead.suppression,
                                                                       lead.first_name), name
    assert not ScheduledEmail.objects.filter(lead__in=known_leads.values()).exists()
    assert Lead.objects.count() == len(known_leads) + 3
    assert not ScheduledEmail.objects.filter(step="welcome").exists(), "enrolment is a choice, off by default"
    assert sequence_enrol_missing() == 0, "the reconciliation leaves an import's unenrolled leads alone too"


@time_machine.travel(NOW, tick=False)
def test_enrolment_is_a_choice_for_the_confirmed_rows(db: None) -> None:
    _run(_upload(csv_file([["ann@example.com", "Ann", "", "", "2025-03-01", "", ""]])), enrol=True)
    assert ScheduledEmail.objects.filter(lead__email="ann@example.com", step="welcome").exists()


@time_machine.travel(NOW, tick=False)
def test_a_rerun_or_a_second_worker_imports_nothing_twice(db: None) -> None:
    rows = [[f"r{i}@example.com", "", "", "t", "" if i % 2 else "2025-01-01", "", ""] for i in range(23)]
    lead_import = _run(_upload(csv_file(rows)))
    assert import_run(import_id=lead_import.pk, chunk_size=4) == LeadImport.Status.DONE
    assert Lead.objects.count() == 23
    assert ScheduledEmail.objects.filter(step="confirm").count() == 11
    assert ConsentRecord.objects.count() == 12
    assert TagChange.objects.count() == 23
    assert LeadImportRow.objects.filter(dry_run=False).count() == 23


@time_machine.travel(NOW, tick=False)
def test_a_run_resumes_at_its_committed_cursor(db: None) -> None:
    """What a killed worker leaves: some chunks committed, the import `running`. The next run goes on from there,
    and a duplicate of a row imported before the crash is still reported as a duplicate."""
    rows = [[f"r{i}@example.com", "", "", "", "", "", ""] for i in range(10)] + [["R0@example.com", "", "", "", "",
                                                                                   "", ""]]
    lead_import = _upload(csv_file(rows))
    imports.lead_import_dry_run(lead_import=lead_import, mapping=MAPPING, enrol=False)
    lead_import.refresh_from_db()
    import_start(lead_import=lead_import)
    # Two chunks of four, as a run would have committed them before dying.
    begun = imports.lead_import_begin(import_id=lead_import.pk)
    assert begun is not None
    parsed = list(imports.import_rows(begun, imports.import_records(begun), now=NOW))
    seen: set[str] = set()
    for chunk in (parsed[:4], parsed[4:8]):
        imports.lead_import_chunk(lead_import=begun, rows=chunk, seen=seen, now=NOW)
    assert Lead.objects.count() == 8

    assert import_run(import_id=lead_import.pk, chunk_size=4) == LeadImport.Status.DONE
    lead_import.refresh_from_db()
    assert Lead.objects.count() == 10
    assert lead_import.counts == {"pending": 10, "duplicate": 1}


@pytest.mark.parametrize(("data", "message"), [
    ("Email,Name\nann@example.com,Ännchen\n".encode("latin-1"), "not UTF-8"),
    (b"Name,City\nAnn,Berlin\n", "No email column"),
    (b"email\n" + b"a" * (10 * 1024 * 1024) + b"@example.com\n", "longer than 10,000 characters"),
    (b"", "empty"),
    (b"email\n", "no rows"),
    (b"email,email\nann@example.com,b@example.com\n", "same name"),
    (b"email\n\"ann@example.com\n", "not valid CSV"),
    (b"email\n" + b"ann@example.com\n" * 500 + b"\"broken, never closed\n", "Line 502 is not valid CSV"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not"),
])
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(db: None, data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        _upload(data)
    assert not LeadImport.objects.exists() and not Lead.objects.exists()


def test_a_file_from_a_european_spreadsheet_semicolons_and_a_byte_order_mark(db: None) -> None:
    data = "\ufeff" + "E-Mail;Vorname\nann@example.com;Änne\n"
    lead_import = _upload(data.encode())
    assert lead_import.mapping == {"email": "E-Mail", "first_name": "Vorname"}
    assert imports.lead_import_dry_run(lead_import=lead_import, mapping=lead_import.mapping, enrol=False) == {
        "pending": 1}


def test_the_mapping_needs_an_email_column_and_known_columns(db: None) -> None:
    lead_import = _upload(csv_file([["ann@example.com", "Ann", "", "", "", "", ""]]))
    with pytest.raises(ValidationError, match="email addresses"):
        imports.lead_import_dry_run(lead_import=lead_import, mapping={"first_name": "First name"}, enrol=False)
    with pytest.raises(ValidationError, match="no column"):
        imports.lead_import_dry_run(lead_import=lead_import, mapping={"email": "Mail"}, enrol=False)


@time_machine.travel(NOW, tick=False)
def test_undo_removes_what_the_import_created_except_who_did_something_since(known_leads: dict[str, Lead]) -> None:
    rows = [[f"{name}@example.com", name.title(), "", "", consent, "", ""]
            for name, consent in [("quiet", ""), ("confirmer", ""), ("leaver", "2025-01-01"),
                                  ("clicker", "2025-01-01"), ("idle", "2025-01-01")]]
    lead_import = _run(_upload(csv_file(rows)))
    made = Lead.objects.filter(utm_campaign=f"import-{lead_import.pk}")
    created = {(lead.email or "").split("@")[0]: lead for lead in made}
    assert len(created) == 5
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        signup_confirm(lead=created["confirmer"], ip_address="198.51.100.2", user_agent="Firefox")
        lead_unsubscribe(lead=created["leaver"])
        Click.objects.create(lead=created["clicker"], target=Click.Target.FREE_GUIDE)
        Click.objects.create(lead=created["idle"], target=Click.Target.FREE_GUIDE, machine=Click.Machine.AGENT)

    removed, kept = import_undo(lead_import=lead_import, by="ida")

    assert removed == 2
    assert {Lead.objects.get(pk=pk).email: reason for pk, reason in kept.items()} == {
        "confirmer@example.com": "confirmed their address", "leaver@example.com": "unsubscribed",
        "clicker@example.com": "clicked a link in an email"}
    assert not Lead.objects.filter(email__in=["quiet@example.com", "idle@example.com"]).exists()
    assert not ScheduledEmail.objects.filter(lead__email="quiet@example.com").exists()
    assert all(Lead.objects.filter(pk=lead.pk).exists() for lead in known_leads.values())
    lead_import.refresh_from_db()
    assert (lead_import.status, lead_import.undone_by) == (LeadImport.Status.UNDONE, "ida")
    report = {row[1]: row[4] for row in import_report_rows(lead_import=lead_import, dry_run=False)}
    assert report["confirmer@example.com"] == "confirmed their address"
    with pytest.raises(ValidationError):
        import_undo(lead_import=lead_import, by="ida")


def test_formulas_in_cells_are_stored_as_text_and_neutralised_in_the_report(db: None) -> None:
    from leads.spreadsheet import csv_cell

    cells = ["=1+2", "@SUM(A1)", "-2+3+cmd|' /C calc'!A0"]
    lead_import = _upload(csv_file([[cell, "", "", "", "", "", ""] for cell in cells]))
    imports.lead_import_dry_run(lead_import=lead_import, mapping=MAPPING, enrol=False)
    assert list(LeadImportRow.objects.order_by("line").values_list("email", flat=True)) == cells
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    for row in import_report_rows(lead_import=lead_import, dry_run=True):
        writer.writerow([csv_cell(cell) for cell in row])
    assert [row[1] for row in csv.reader(io.StringIO(out.getvalue()))][1:] == [f"'{cell}" for cell in cells]


def test_erasing_a_person_clears_their_address_from_an_import_report(known_leads: dict[str, Lead]) -> None:
    from leads.services import lead_erase

    lead_import = _upload(csv_file([["Gone@example.com", "", "", "", "", "", ""]]))
    imports.lead_import_dry_run(lead_import=lead_import, mapping=MAPPING, enrol=False)
    assert LeadImportRow.objects.get().email == "Gone@example.com"
    lead_erase(lead=known_leads["gone"])
    assert LeadImportRow.objects.get().email == "[erased]"


def test_the_confirmations_go_out_through_the_dispatcher_at_their_pace(db: None, settings: object) -> None:
    from django.core import mail

    from emails import dispatch

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"  # type: ignore[attr-defined]
    settings.LEAD_IMPORT_CONFIRMATIONS_PER_HOUR = 60  # type: ignore[attr-defined]
    dispatch._seconds_per_message = None
    with time_machine.travel(NOW, tick=False):
        _run(_upload(csv_file([[f"r{i}@example.com", f"R{i}", "", "", "", "", ""] for i in range(3)])))
        dispatch.dispatch_due()
        assert [m.to for m in mail.outbox] == [["r0@example.com"]], "one due now, the others later"
        assert getattr(mail.outbox[0], "tags", None) == ["confirm"]
    with time_machine.travel(NOW + timedelta(minutes=2, seconds=1), tick=False):
        dispatch.dispatch_due()
    assert sorted(m.to[0] for m in mail.outbox) == ["r0@example.com", "r1@example.com", "r2@example.com"]


def test_the_sweep_hands_only_stalled_work_to_a_worker_again(db: None) -> None:
    from funnel.imports.services import imports_resume

    made = {status: _upload(csv_file([["a@example.com", "", "", "", "", "", ""]]), name=f"{status}.csv")
            for status in ("checking", "queued", "running", "done")}
    for status, lead_import in made.items():
        LeadImport.objects.filter(pk=lead_import.pk).update(status=status, heartbeat_at=NOW)
    assert imports_resume(now=NOW + timedelta(seconds=119)) == 0, "a heartbeat within LEAD_IMPORT_STALE_SECONDS"
    assert imports_resume(now=NOW + timedelta(seconds=121)) == 3
    assert imports_resume(now=NOW + timedelta(seconds=122)) == 0, "its heartbeat moved as it was handed over"


def test_the_confirmation_reminder_waits_for_the_paced_confirmation(db: None, settings: object) -> None:
    from funnel.landing.services import confirm_reminders_queue

    settings.LEAD_IMPORT_CONFIRMATIONS_PER_HOUR = 1  # type: ignore[attr-defined]
    with time_machine.travel(NOW, tick=False):
        _run(_upload(csv_file([[f"r{i}@example.com", "", "", "", "", "", ""] for i in range(3)])))
    first = ScheduledEmail.objects.get(lead__email="r0@example.com", step="confirm")
    ScheduledEmail.objects.filter(pk=first.pk).update(status=ScheduledEmail.Status.SENT, sent_at=NOW)
    assert confirm_reminders_queue(now=NOW + timedelta(hours=25)) == 1, "only the one mailed a day ago"
    assert list(ScheduledEmail.objects.filter(step="confirm-reminder").values_list("lead__email", flat=True)) == [
        "r0@example.com"]

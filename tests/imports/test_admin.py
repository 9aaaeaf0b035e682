"""The admin's import, as staff use it through the Django test client: upload → preview and mapping → dry run
(report download) → import (progress, then the counts) → undo. A bad file is refused with its message; staff with
the view permission only see imports but cannot upload, import, undo or download addresses."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from funnel.tasks import lead_import_check, lead_import_run
from leads.imports.models import LeadImport
from leads.models import Lead
from tests.imports.conftest import EVERY_KIND, client_for, csv_file, every_kind_file, report

pytestmark = pytest.mark.django_db
MAPPING_POST = {"email": "Email", "first_name": "First name", "time_zone": "Time zone", "tags": "Tags",
                "consent_date": "Consent date", "consent_source": "Consent source", "consent_ip": "Consent IP"}


def _detail(lead_import: LeadImport) -> str:
    return reverse("admin:leads_leadimport_change", args=[lead_import.pk])


def test_upload_preview_dry_run_import_and_undo(importer: User, known_leads: dict[str, Lead], settings: Any) -> None:
    settings.DEBUG = False
    client = client_for(importer)
    listing = client.get(reverse("admin:leads_leadimport_changelist"))
    assert listing.status_code == 200

    upload = client.post(reverse("admin:leads_leadimport_add"),
                         {"file": SimpleUploadedFile("webinar.csv", every_kind_file(), "text/csv")})
    lead_import = LeadImport.objects.get()
    assert upload.status_code == 302 and upload["Location"] == _detail(lead_import)

    preview = client.get(_detail(lead_import)).content.decode()
    assert "<td>webinar-may, vip</td>" in preview and "<td>Ann@Example.com</td>" in preview, "the first rows"
    assert '<option value="Consent date" selected>' in preview, "the mapping guessed from the header"
    assert 'value="Dry run"' in preview and 'value="Import"' not in preview

    checked = client.post(_detail(lead_import), {**MAPPING_POST, "step": "dry_run"})
    assert checked.status_code == 302
    checking = client.get(_detail(lead_import)).content.decode()
    assert "The dry run is under way" in checking and '<meta http-equiv="refresh"' in checking
    lead_import_check.run(lead_import.pk)  # what the worker the admin published to does
    page = client.get(_detail(lead_import)).content.decode()
    assert "Invalid address</th><td>2" in page and "Suppressed or unsubscribed</th><td>4" in page
    assert 'value="Import"' in page and "will not start the sequence" in page
    dry_run = report(client.get(reverse("admin:leads_leadimport_report", args=[lead_import.pk]) + "?of=dry_run"))
    assert [row[1] for row in dry_run[1:]] == [cells[0] for _, cells, outcome, _ in EVERY_KIND
                                              if outcome not in ("confirmed", "pending")]
    assert Lead.objects.count() == len(known_leads), "a dry run changes no lead"

    started = client.post(_detail(lead_import), {"step": "import"})
    assert started.status_code == 302
    waiting = client.get(_detail(lead_import)).content.decode()
    assert '<meta http-equiv="refresh"' in waiting and '<progress id="import-progress" value="0" max="15">' in waiting

    lead_import_run.run(lead_import.pk)  # what the worker the admin published to does

    done = client.get(_detail(lead_import)).content.decode()
    assert '<progress id="import-progress" value="15" max="15">' in done and "refresh" not in done
    assert "Imported, confirmed (consent evidence)</th><td>1" in done
    assert Lead.objects.filter(email__in=["ann@example.com", "bob@example.com", "vic@example.com"]).count() == 3
    full = report(client.get(reverse("admin:leads_leadimport_report", args=[lead_import.pk]) + "?of=import"))
    assert full[-1][:3] == ["16", "vic@example.com", "Imported, asked to confirm by email"]

    undone = client.post(_detail(lead_import), {"step": "undo"}, follow=True).content.decode()
    assert "Removed 3 imported lead(s); kept 0" in undone
    assert Lead.objects.count() == len(known_leads)


def test_a_bad_file_is_refused_with_its_message(importer: User) -> None:
    client = client_for(importer)
    response = client.post(reverse("admin:leads_leadimport_add"),
                           {"file": SimpleUploadedFile("list.csv", b"Name,City\nAnn,Berlin\n", "text/csv")})
    assert response.status_code == 200
    assert "No email column" in response.content.decode()
    assert not LeadImport.objects.exists()


def test_view_only_staff_see_imports_and_change_nothing(importer: User, viewer: User) -> None:
    from leads.imports.services import lead_import_create

    lead_import = lead_import_create(data=csv_file([["ann@example.com", "Ann", "", "", "", "", ""]]),
                                     file_name="a.csv", by="ida")
    client = client_for(viewer)
    assert client.get(reverse("admin:leads_leadimport_changelist")).status_code == 200
    page = client.get(_detail(lead_import))
    assert page.status_code == 200
    assert "Dry run" not in page.content.decode()
    assert client.get(reverse("admin:leads_leadimport_add")).status_code == 403
    assert client.post(_detail(lead_import), {**MAPPING_POST, "step": "dry_run"}).status_code == 403
    assert client.get(reverse("admin:leads_leadimport_report", args=[lead_import.pk])).status_code == 403
    lead_import.refresh_from_db()
    assert lead_import.status == LeadImport.Status.UPLOADED

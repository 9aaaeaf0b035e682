"""Issue 12 I, left over: leads from before the per-mailbox key existed get it from a data migration (leads 0004).

Until then an old lead was invisible to the per-mailbox checks: another spelling of a mailbox that had complained
still got a confirmation email.

Tests run with --no-migrations (the schema comes from the models, which match 0003 for `leads`), so the
migration is loaded from disk and applied on top of 0003's project state with Django's MigrationExecutor, as
`migrate` would apply it.
"""

import importlib
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext

from emails.models import ScheduledEmail
from leads.mailbox import mailbox_sha256
from leads.models import Lead
from tests.signup.conftest import form_data, unique_ip

# PostgreSQL: migrates backwards and forwards inside the test, which SQLite refuses with foreign key checks on.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
BEFORE, BACKFILL = ("leads", "0003_mailbox_privacy_link_export_permission"), ("leads", "0004_backfill_mailbox_sha256")
OLD_SPELLINGS = ["Ann.Lee@gmail.com", '"bo"@example.com', "cy+news@example.org", "dee@example.net", "ed@example.com"]


def _migrate_forward(settings: Any) -> None:
    settings.MIGRATION_MODULES = {}  # the migrations on disk, not pytest-django's "no migrations"
    executor = MigrationExecutor(connection)
    state = executor.loader.project_state(BEFORE)
    migration = executor.loader.get_migration(*BACKFILL)
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.apply(state, editor)


def _old_lead(email: str | None, **fields: Any) -> Lead:
    # Created the way every lead was before 0003: no key (Lead.objects.create leaves it blank, as old rows are).
    lead = Lead.objects.create(email=email, **{"status": Lead.Status.SUBSCRIBED, **fields})
    assert lead.mailbox_sha256 == ""
    return lead


def test_the_backfill_keys_every_old_lead_in_batches(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(f"leads.migrations.{BACKFILL[1]}")
    monkeypatch.setattr(module, "BATCH_SIZE", 2)
    old = [_old_lead(email) for email in OLD_SPELLINGS]
    erased = _old_lead(None, status=Lead.Status.ERASED)

    with CaptureQueriesContext(connection) as queries:
        _migrate_forward(settings)

    for lead in old:
        lead.refresh_from_db()
        assert lead.mailbox_sha256 == mailbox_sha256(lead.email or "")
    erased.refresh_from_db()
    assert erased.mailbox_sha256 == ""  # erasure cleared it; there is no address to key
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "leads_lead"')]
    assert len(writes) == 3  # five leads, two a batch

    _migrate_forward(settings)  # again (a re-run after a stop half-way): nothing left to do, nothing changes
    assert sorted(Lead.objects.exclude(mailbox_sha256="").values_list("mailbox_sha256", flat=True)) == \
        sorted(mailbox_sha256(email) for email in OLD_SPELLINGS)


def test_after_the_backfill_an_old_complaint_covers_every_spelling_of_that_mailbox(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    _old_lead("Ann.Lee@gmail.com", suppression=Lead.Suppression.COMPLAINT)
    _migrate_forward(settings)

    reader = Client(REMOTE_ADDR=unique_ip(), HTTP_USER_AGENT="Mozilla/5.0 (backfill test)")
    assert reader.post("/signup/", form_data(email="annlee+news@googlemail.com")).status_code == 302
    stranger_typed = Lead.objects.get(email="annlee+news@googlemail.com")
    assert not ScheduledEmail.objects.filter(lead=stranger_typed).exists()  # no confirmation for that mailbox

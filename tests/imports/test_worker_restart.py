"""The import runs in a real Celery worker, which is killed (SIGKILL) in the middle of it; a new worker, handed the
import by the resume sweep that beat runs, goes on from the last committed chunk: every row imported exactly once,
one confirmation email each, one report row each."""

import signal
from datetime import timedelta
from typing import Any

import pytest

from emails.models import ScheduledEmail
from funnel.imports.services import import_start, imports_resume
from funnel.tasks import lead_import_run
from leads.imports import services as imports
from leads.imports.models import LeadImport, LeadImportRow
from leads.models import Lead
from tests.conftest import WorkerProcess, wait_until
from tests.imports.conftest import csv_file

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROWS = 20_000
CHUNK = 200


def _state(pk: int) -> LeadImport:
    return LeadImport.objects.get(pk=pk)


@pytest.mark.django_db(transaction=True)
def test_an_import_survives_a_killed_worker_and_imports_nothing_twice(worker_env: dict[str, str],
                                                                     settings: Any) -> None:
    worker_env.update({"LEAD_IMPORT_CHUNK_ROWS": str(CHUNK), "DRIP_KICK_ON_QUEUE": "false"})
    lead_import_run.app.control.purge()
    data = csv_file([[f"reader{i}@example.com", f"Reader{i}"] for i in range(ROWS)], header=["email", "first name"])
    lead_import = imports.lead_import_create(data=data, file_name="big.csv", by="ida")
    imports.lead_import_dry_run(lead_import=lead_import, mapping=lead_import.mapping, enrol=False)
    lead_import.refresh_from_db()

    first, second = WorkerProcess(worker_env), WorkerProcess(worker_env)
    try:
        first.start()
        assert import_start(lead_import=lead_import)
        wait_until(lambda: _state(lead_import.pk).cursor >= 2 * CHUNK, timeout=60, what="two chunks committed")
        first.kill(signal.SIGKILL)
        killed_at = _state(lead_import.pk)
        assert killed_at.status == LeadImport.Status.RUNNING and 0 < killed_at.cursor < ROWS, (
            "the worker died in the middle of the import")
        assert Lead.objects.count() == killed_at.cursor, "committed chunks only, nothing half-done"

        second.start()
        assert imports_resume(stale_after=timedelta(0)) == 1  # what beat runs once the heartbeat is stale
        wait_until(lambda: _state(lead_import.pk).status == LeadImport.Status.DONE, timeout=180,
                   what="the resumed import to finish")
    finally:
        first.stop()
        second.stop()

    done = _state(lead_import.pk)
    print(f"killed at row {killed_at.cursor:,} of {ROWS:,}; resumed and finished")
    assert done.counts == {"pending": ROWS} and done.cursor == ROWS
    assert Lead.objects.count() == ROWS
    assert ScheduledEmail.objects.filter(step="confirm").count() == ROWS
    assert ScheduledEmail.objects.filter(step="confirm").values("lead").distinct().count() == ROWS
    assert LeadImportRow.objects.filter(dry_run=False).count() == ROWS
    assert LeadImportRow.objects.filter(dry_run=False).values("line").distinct().count() == ROWS

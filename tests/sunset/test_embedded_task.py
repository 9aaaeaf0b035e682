"""Beat's sunset task on the embedded default: SQLite and the Celery filesystem broker under var/, a real worker."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, WorkerProcess

SENDER = """
import json
import time
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from emails.models import ScheduledEmail
from emails.tasks import sunset_run
from leads.models import Lead
from tests.conftest import wait_until
long_ago = timezone.now() - timedelta(days=90)
Lead.objects.create(email="quiet@example.com", status="subscribed", created_at=long_ago, confirmed_at=long_ago,
                    marketing_since_click=10)
sunset_run.delay()  # what beat publishes; the task keeps no result, so the row it writes is the answer
wait_until(ScheduledEmail.objects.exists, timeout=90, what="the worker to run the sunset task")
lead = Lead.objects.get()
print(json.dumps({"steps": list(ScheduledEmail.objects.values_list("step", flat=True)),
                  "asked": lead.sunset_asked_at is not None}))
"""


@pytest.mark.slow
def test_the_sunset_task_runs_through_the_filesystem_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"} and not k.startswith("PYTEST")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings",
                "DRIP_KICK_ON_QUEUE": "false"})
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    worker = WorkerProcess(env).start()
    try:
        sender = subprocess.run([sys.executable, "-c", SENDER], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=150)
        assert sender.returncode == 0, sender.stderr[-3000:] + worker.log()[-3000:]
        result = json.loads(sender.stdout.strip().splitlines()[-1])
    finally:
        worker.stop()
    assert result == {"steps": ["sunset-1"], "asked": True}, worker.log()[-3000:]

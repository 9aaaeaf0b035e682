"""Redis (cache and broker) stopped while people sign up: every signup still answers fast and is committed, and
the confirmation emails go out once Redis is back, sent by beat and a worker with no help from the test."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from emails.models import ScheduledEmail
from leads.models import ConsentRecord, Lead
from tests.conftest import ROOT, WorkerProcess, wait_until
from tests.drip.backends import read_lines
from tests.faults.forms import signup_form_data

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def sign_up(base: str, email: str) -> float:
    """A visitor: GET the landing page (CSRF cookie + token), POST the form. Returns the POST's duration."""
    session = requests.Session()
    page = session.get(f"{base}/", timeout=10)
    assert page.status_code == 200
    data = signup_form_data(page.text, email=email, first_name="Sam", time_zone="Europe/Paris")
    started = time.monotonic()
    answer = session.post(f"{base}/signup/", timeout=10, allow_redirects=False, data=data)
    elapsed = time.monotonic() - started
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/thanks/"), answer.status_code
    return elapsed


def test_signups_with_redis_down_commit_fast_and_their_emails_go_out_when_it_is_back(
        private_redis: Any, web_server: Any, worker_env: dict[str, str], tmp_path: Path) -> None:
    site = web_server(REDIS_URL=private_redis.url, DRIP_KICK_ON_QUEUE="true")
    sign_up(site.url, "warm@example.com")  # each worker process loads its code before Redis goes

    private_redis.kill()  # refused connections
    refused = [sign_up(site.url, f"refused{i}@example.com") for i in range(3)]
    private_redis.start()
    private_redis.freeze()  # accepts connections, never answers: the harder case
    frozen = [sign_up(site.url, f"frozen{i}@example.com") for i in range(3)]

    assert max(refused + frozen) < 2.0, f"signup durations with Redis down: refused {refused}, frozen {frozen}"
    emails = [f"refused{i}@example.com" for i in range(3)] + [f"frozen{i}@example.com" for i in range(3)]
    leads = Lead.objects.filter(email__in=emails)
    assert leads.count() == 6 and set(leads.values_list("status", flat=True)) == {Lead.Status.PENDING}
    assert ConsentRecord.objects.filter(lead__in=leads).count() == 6
    rows = ScheduledEmail.objects.filter(lead__in=leads, step="confirm")
    assert rows.count() == 6 and set(rows.values_list("status", flat=True)) == {ScheduledEmail.Status.SCHEDULED}

    # Redis is back. A worker and beat start (as after an outage); nobody kicks anything by hand.
    private_redis.thaw()
    accepted = tmp_path / "accepted.txt"
    env = {**worker_env, "REDIS_URL": private_redis.url, "EMAIL_BACKEND": "tests.drip.backends.SlowFileBackend",
           "SLOW_BACKEND_FILE": str(accepted), "SLOW_BACKEND_DELAY": "0", "DRIP_DISPATCH_EVERY_SECONDS": "1"}
    worker = WorkerProcess(env).start()
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
         "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: rows.filter(status=ScheduledEmail.Status.SENT).count() == 6, timeout=60, interval=0.2,
                   what="the six confirmation emails to be sent")
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=20)
        worker.stop()
    sent_rows = [str(pk) for pk in rows.values_list("pk", flat=True)]
    at_backend = [row for row in read_lines(accepted) if row in sent_rows]
    assert sorted(at_backend) == sorted(sent_rows), "each confirmation reached the backend exactly once"

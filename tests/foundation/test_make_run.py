"""`make run` on a machine with no PostgreSQL, Redis or Docker: web, worker and beat on embedded defaults."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_until


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


@pytest.mark.slow
def test_make_run_serves_pages_and_runs_tasks_on_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"} and not k.startswith("PYTEST")}
    env.update({"VAR_DIR": str(tmp_path / "var"), "PORT": str(port), "DRIP_DISPATCH_EVERY_SECONDS": "1"})
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz") == 200 or proc.poll() is not None,
                   timeout=120, what="make run to serve /healthz")
        output = log_path.read_text()
        assert proc.poll() is None, output
        assert f"open http://127.0.0.1:{port}/" in output
        assert _get(f"http://127.0.0.1:{port}/") == 200
        assert (tmp_path / "var" / "db.sqlite3").exists()  # SQLite under var/, no server needed

        # A task sent through the filesystem broker is executed by make run's worker.
        sender = subprocess.run(
            [sys.executable, "-c", "from config.celery import ping; print(ping.delay().get(timeout=60))"],
            cwd=ROOT, env={**env, "DEBUG": "true"}, capture_output=True, text=True, timeout=90)
        assert sender.stdout.strip() == "pong", sender.stderr + log_path.read_text()[-3000:]
        # Beat is up: its persistent schedule file exists.
        wait_until(lambda: list((tmp_path / "var").glob("celerybeat-schedule*")), timeout=30, what="beat")
    finally:
        # One Ctrl-C stops web, worker and beat together.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", f"processes left running: {leftover.stdout}"

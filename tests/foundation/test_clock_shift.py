"""`--clock-at` (tests/clock.py), the shift `make test-clocks` runs the time-sensitive folders under, does what it says:
every test starts at the instant, the clock ticks, a test's own travel nests inside, child processes agree, and
time.monotonic() is left alone."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

INNER = '''
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import time_machine

INSTANT = datetime(2027, 3, 14, 6, 59, 30, tzinfo=UTC)


def seconds_since_instant() -> float:
    return (datetime.now(UTC) - INSTANT).total_seconds()


def test_starts_at_the_instant_and_ticks() -> None:
    assert 0 <= seconds_since_instant() < 1
    real = time.perf_counter()  # time-machine never touches it
    while time.perf_counter() - real < 0.05:
        pass
    assert seconds_since_instant() >= 0.05


def test_a_test_that_travels_nests_inside_and_the_next_test_starts_at_the_instant_again() -> None:
    with time_machine.travel(INSTANT + timedelta(days=3), tick=False):
        assert datetime.now(UTC) == INSTANT + timedelta(days=3)
    assert 0 <= seconds_since_instant() < 1


def test_the_next_test_starts_at_the_instant_again() -> None:
    assert 0 <= seconds_since_instant() < 1


def test_a_child_process_reads_the_same_clock() -> None:
    child = subprocess.run([sys.executable, "-c", "import time; print(time.time())"], capture_output=True,
                           text=True, check=True)
    assert abs(float(child.stdout) - time.time()) < 5  # the child's start-up time, not the shift (years)


def test_monotonic_is_the_machines() -> None:
    assert abs(time.monotonic() - time.perf_counter()) < 1  # both read CLOCK_MONOTONIC on Linux
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's settings: no Django here
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "TEST_CLOCK")) and k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.clock", "-p", "no:cacheprovider", "-p",
                           "no:django", "-q", "-c", str(tmp_path / "pytest.ini"), str(tmp_path), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_every_test_of_a_shifted_run_starts_at_the_instant(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "--clock-at=2027-03-14T01:59:30-05:00")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed" in run.stdout
    assert "clock: every test starts at 2027-03-14T01:59:30-05:00 (2027-03-14 06:59:30 UTC)" in run.stdout


def test_without_the_option_the_clock_is_the_machines(tmp_path: Path) -> None:
    run = _pytest(tmp_path)
    assert run.returncode == 1 and "3 failed, 2 passed" in run.stdout, run.stdout  # the instant tests fail


def test_an_instant_without_its_utc_offset_is_refused(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "--clock-at=2027-01-15T07:59:00")
    assert run.returncode == 4
    assert "give the UTC offset" in run.stderr


def test_the_shift_lives_in_the_tests_only() -> None:
    production = [p for folder in ("config", "leads", "emails", "funnel", "webhooks")
                  for p in (ROOT / folder).rglob("*.py")]
    assert production
    assert not [p for p in production if "time_machine" in p.read_text() or "TEST_CLOCK" in p.read_text()]

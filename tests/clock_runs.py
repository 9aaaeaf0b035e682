"""`make test-clocks`: the time-sensitive folders once per shifted clock (tests/clock.py), and all must pass.

Each clock is its own pytest process with its own PostgreSQL database (DATABASE_URL's name + `_clock<n>`) and its
own private redis-server: on a shared Redis one run's celery worker would take another run's tasks, and the
rate-limit counters of an instant would carry over to the next run at that instant. `TEST_CLOCK_LANES` runs
(default 2, the CI machine's cores) go at once. `TEST_CLOCKS` (comma-separated ISO-8601 instants) replaces the
list below; extra arguments go to pytest, e.g. `make test-clocks PYTEST_ARGS="-x -k week"`.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.private_redis import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["tests/drip", "tests/checkout", "tests/signup", "tests/practice", "tests/dashboard", "tests/faults",
           "tests/content", "tests/experiments"]
# Not rerun: nothing they check depends on the run's clock, and they are the slowest (Chromium, a simulated week).
NO_CLOCK = {
    "tests/drip/test_email_layout.py": "geometry and colours of every email in Chromium, rendered from fixed data",
    "tests/drip/test_rendering_and_wire.py::test_text_and_call_to_action_are_readable_in_light_and_dark_mode":
        "colour contrast of a rendered email in Chromium",
    "tests/drip/test_week.py": "each test pins its own clock (`clock(START)`, 2026-03-05) before its first lead",
    "tests/drip/test_follow_up.py": "each test pins its own clock before its first lead (the week and after it)",
    "tests/signup/test_browser.py": "the landing page and the signup form in Chromium: layout, print, focus order, "
                                    "errors (the signup's dated parts run without a browser in test_signup.py)",
    "tests/signup/test_time_zone_browser.py": "the zone the browser reports, preselected in the form",
}
# Spread over the day in UTC (12:59, 13:01, 06:59, 23:59) and placed on the edges the code cares about; every test
# starts at the instant, so whatever it does in its first seconds happens on the edge. Four, not more: each costs
# about 100 s of CPU, and CI has two cores (`TEST_CLOCKS` runs any others, e.g. New York falling back,
# 2027-11-07T01:59:30-04:00).
CLOCKS = {
    "2027-01-15T07:59:00-05:00": "a minute before the 08:00 send hour in New York",
    "2027-01-15T08:01:00-05:00": "a minute after the 08:00 send hour in New York",
    "2027-03-14T01:59:30-05:00": "New York springs forward 30 s later (02:00 EST is 03:00 EDT)",
    "2027-12-31T18:59:30-05:00": "midnight UTC 30 s later: a new day, month and year in UTC, not yet in New York",
}


_say_lock = threading.Lock()


def say(line: str) -> None:
    """One whole line at a time: the runs report from several threads."""
    with _say_lock:
        print(line, flush=True)


@dataclass
class Outcome:
    clock: str
    returncode: int
    seconds: float
    log: Path

    def last_line(self) -> str:
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else "(no output)"


def _database_url(base: str, n: int) -> str:
    if not base:
        return ""  # SQLite: pytest-django gives every process its own in-memory test database
    parts = urlsplit(base)
    return parts._replace(path=f"{parts.path}_clock{n}").geturl()


def run_one(n: int, clock: str, workdir: Path, pytest_args: list[str]) -> Outcome:
    work = workdir / f"clock{n}"
    work.mkdir(parents=True)
    log = work / "pytest.log"
    say(f"clock {n}: {clock} ({CLOCKS.get(clock, 'from TEST_CLOCKS')}): started")
    started = time.monotonic()
    redis_server = None
    try:
        # No redis-server binary: no URL, and the Redis tests skip (or fail in CI) as they would anyway.
        redis_server = PrivateRedis(work / "redis").start() if PrivateRedis.available() else None
        env = {**os.environ, "TEST_CLOCK_AT": clock, "REDIS_URL": redis_server.url if redis_server else "",
               "DATABASE_URL": _database_url(os.environ.get("DATABASE_URL", ""), n)}
        with log.open("wb") as out:
            deselect = [f"--deselect={node}" for node in NO_CLOCK]
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--basetemp={work / 'tmp'}", *deselect,
                                   *pytest_args, *FOLDERS],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    finally:
        if redis_server is not None:
            redis_server.stop()
    return Outcome(clock, done.returncode, time.monotonic() - started, log)


def main(pytest_args: list[str]) -> int:
    clocks = [c.strip() for c in os.environ.get("TEST_CLOCKS", "").split(",") if c.strip()] or list(CLOCKS)
    lanes = int(os.environ.get("TEST_CLOCK_LANES", "2"))
    workdir = Path(tempfile.mkdtemp(prefix="test-clocks-"))
    say(f"test-clocks: {', '.join(FOLDERS)} at {len(clocks)} clocks, {lanes} at a time; not rerun, having no "
        f"clock in them: {', '.join(NO_CLOCK)}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        outcomes = list(pool.map(lambda job: run_one(job[0], job[1], workdir, pytest_args),
                                 enumerate(clocks, start=1)))
    failed = [o for o in outcomes if o.returncode != 0]
    for o in failed:
        say(f"\n===== clock {o.clock}: pytest exited {o.returncode}; the end of {o.log}:")
        say("\n".join(o.log.read_text(errors="replace").splitlines()[-60:]))
    say(f"\ntest-clocks: {len(clocks)} clocks, {lanes} at a time, {time.monotonic() - started:.0f} s in all")
    for o in outcomes:
        say(f"  {'ok    ' if o.returncode == 0 else 'FAILED'} {o.clock} ({o.seconds:.0f} s): {o.last_line()}")
    if failed:
        say(f"test-clocks: logs kept under {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

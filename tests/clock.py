"""A pytest plugin that runs every test at another instant: `--clock-at=2027-01-15T07:59:00-05:00`.

Tests that pass only at some hours of the day depend on the wall clock without saying so. Running them with the
clock moved (before and after the 08:00 send hour, on a DST change, just before midnight) shows them.

How it works:
- the test process travels to the instant with time-machine before any test is collected, and each test starts
  at exactly that instant again (then the clock ticks), so "07:59" means 07:59 for the last test as for the first;
- a test that travels on its own (`time_machine.travel(...)`, the drip `clock` fixture) nests inside and comes
  back to the shifted clock when it stops;
- child processes (celery workers and beat, gunicorn, `make run`, `manage.py`) inherit, through `os.environ`, the
  offset in seconds and a PYTHONPATH entry whose `sitecustomize.py` travels by that offset at interpreter start,
  so they agree with the test on "now" (forked workers keep it);
- only the wall clock moves: time.monotonic() stays the machine's in every process (see monotonic_unshifted).
PostgreSQL and Redis keep the real clock: the code reads "now" in Python only, and Redis expiries are relative.
`TEST_CLOCK_AT` sets the option from the environment. Nothing here is imported by production code.
"""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.clock_site.sitecustomize import OFFSET_ENV, monotonic_unshifted

OPTION_ENV = "TEST_CLOCK_AT"
SITE_DIR = Path(__file__).resolve().parent / "clock_site"


class _Shift:
    """The run's clock: where it started, and the time-machine coordinates that every test moves back there."""

    def __init__(self, when: datetime) -> None:
        self.when = when
        self.traveller = time_machine.travel(when.timestamp(), tick=True)
        self.coordinates = self.traveller.start()
        self.monotonic_restore = monotonic_unshifted()
        self.saved = {name: os.environ.get(name) for name in (OFFSET_ENV, OPTION_ENV, "PYTHONPATH")}
        # Children find the offset, not the option: a pytest started by a test must not travel a second time.
        os.environ.pop(OPTION_ENV, None)
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), self.saved["PYTHONPATH"]) if p)
        self.restart()

    def restart(self) -> None:
        """Back to the instant, ticking from now; children started from here on get the matching offset."""
        # A timestamp, not the datetime: time-machine would also set TZ for a ZoneInfo and change local time.
        self.coordinates.move_to(self.when.timestamp())
        real = time_machine.escape_hatch.time.time()
        time.time()  # time-machine ticks from the first read: anchor it now, so the offset below holds
        os.environ[OFFSET_ENV] = repr(self.when.timestamp() - real)

    def stop(self) -> None:
        self.monotonic_restore()
        self.traveller.stop()
        for name, old in self.saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

    def describe(self) -> str:
        return (f"clock: every test starts at {self.when.isoformat()} "
                f"({self.when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC) and ticks; child processes follow")


_shift: list[_Shift] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-at", default=os.environ.get(OPTION_ENV, ""), metavar="ISO-8601",
        help=f"run every test (and its child processes) from this instant, e.g. 2027-03-14T01:59:30-05:00; "
             f"the clock ticks from there. Default: ${OPTION_ENV}, else the real clock.")


def clock_at_parse(value: str) -> datetime:
    """An ISO-8601 instant with its UTC offset (a local time without one would mean another instant per machine)."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError as error:
        raise pytest.UsageError(f"--clock-at={value!r}: not an ISO-8601 date-time ({error})") from None
    if when.tzinfo is None:
        raise pytest.UsageError(f"--clock-at={value!r}: give the UTC offset, e.g. 2027-01-15T07:59:00-05:00")
    return when


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("--clock-at")
    if value and OFFSET_ENV not in os.environ:  # set: a pytest started by a shifted test, already moved at start
        _shift.append(_Shift(clock_at_parse(value)))


def pytest_unconfigure(config: pytest.Config) -> None:
    while _shift:
        _shift.pop().stop()


@pytest.fixture(autouse=True)
def _clock_at_the_shifted_instant() -> Iterator[None]:
    """Autouse, so it runs before the test's other function fixtures (worker_env copies os.environ)."""
    for shift in _shift:
        shift.restart()
    yield


@pytest.fixture
def held_clock() -> Iterator[datetime]:
    """The clock stands still for the whole test, at the instant the test started (time-machine, tick=False).

    For answers that depend on the wall clock staying inside one period: a fixed-window rate limit counts from
    zero again when the hour turns, so a test that ran across it would see its fourth request allowed.
    """
    with time_machine.travel(time.time(), tick=False):
        yield datetime.now(UTC)


def pytest_report_header(config: pytest.Config) -> str:
    return _shift[0].describe() if _shift else "clock: real"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Printed last as well: -q hides the header, and a failure must say which clock it ran under.
    for shift in _shift:
        terminalreporter.write_line(shift.describe())

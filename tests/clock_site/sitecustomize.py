"""Child processes of a clock-shifted test run start at the same shifted clock as the tests (see tests/clock.py).

Python imports `sitecustomize` at interpreter start from sys.path; tests/clock.py puts this folder on the
PYTHONPATH of the test process's children when a run is shifted, together with the offset in seconds.
"""

import os
import time
from collections.abc import Callable

import time_machine

OFFSET_ENV = "TEST_CLOCK_OFFSET_SECONDS"


def monotonic_unshifted() -> Callable[[], None]:
    """Keep the machine's monotonic clock while the wall clock travels; returns how to undo it.

    time-machine 2.x moves time.monotonic() with the wall clock (3.0 stopped doing so: it broke too much). Here it
    broke gunicorn, whose arbiter compares monotonic() with the mtime of a worker's heartbeat file, which the kernel
    first sets in real time: with the clock shifted forward it killed every worker that took over a second to boot.
    Code that backs off on monotonic() (broker publishes paused 10 s after a failure) must not see it jump either.
    """
    hatch = getattr(time_machine, "escape_hatch", None)
    if hatch is None or not hasattr(hatch.time, "monotonic"):
        return lambda: None
    shifted = time.monotonic, time.monotonic_ns
    time.monotonic, time.monotonic_ns = hatch.time.monotonic, hatch.time.monotonic_ns  # type: ignore[misc]

    def undo() -> None:
        time.monotonic, time.monotonic_ns = shifted  # type: ignore[misc]

    return undo


# Only as the interpreter's own sitecustomize: tests/clock.py imports this module for the function above.
if __name__ == "sitecustomize" and os.environ.get(OFFSET_ENV):
    time_machine.travel(time.time() + float(os.environ[OFFSET_ENV]), tick=True).start()
    time.time()  # time-machine ticks from the first read: anchor it now
    monotonic_unshifted()

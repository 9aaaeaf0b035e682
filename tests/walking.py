"""The step runner of the two walks over HTTP: `make prod-check` (tests/production/walk.py, the image's path) and
`make run-check` (tests/embedded/walk.py, the newcomer's `make run`). Each step prints one line with its result;
the first failure stops the walk, prints its traceback and the services' log tails, and the exit code is 1."""

import time
import traceback
from collections.abc import Callable


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def walk_run(name: str, steps: list[tuple[str, Callable[[], str]]], *, close: Callable[[], None],
             logs_on_failure: Callable[[], str]) -> int:
    failed = False
    try:
        for number, (title, step) in enumerate(steps, start=1):
            started = time.monotonic()
            try:
                detail = step()
            except Exception as exc:
                print(f"  {number:2}. FAIL {title}: {exc}", flush=True)
                traceback.print_exc()
                failed = True
                break
            print(f"  {number:2}. ok   {title} ({time.monotonic() - started:.1f}s): {detail}", flush=True)
    finally:
        close()
    if failed:
        print(logs_on_failure())
        print(f"{name}: FAILED")
        return 1
    print(f"{name}: passed")
    return 0

"""The dispatcher's kicks, published from one background thread per process instead of by the request.

A kick only asks a worker to run the dispatcher now rather than at beat's next tick (emails/broker.py: the rows are
the outbox). So the request need not wait for the broker, and kicks asked for while one is being published fold
into the next one: at a launch-day peak a web process publishes at most one kick every MIN_INTERVAL_SECONDS, not
one per signup.

Nothing is missed: a kick is asked for after the rows committed, and the thread takes the pending kicks off the set
before it publishes them, so every committed row is older than the publish that covers it, and the dispatcher that
publish starts finds it. A process about to exit (a management command, a script) waits briefly at exit for its
pending kicks to go out (`kicks_flush`), so its mail is not left for beat's next tick.
"""

import atexit
import logging
import os
import threading
import time

from celery import Task

from emails.broker import task_publish

logger = logging.getLogger(__name__)

# A kick costs the process a Celery publish (about half a millisecond of Python); four a second per process keep a
# confirmation's wait for the dispatcher under a quarter of a second.
MIN_INTERVAL_SECONDS = 0.25
_cond = threading.Condition()
_pending: dict[str, tuple[Task, float | None]] = {}
_thread_pid = 0  # the process whose thread runs (a forked child starts its own)
_publishing = False  # the thread is publishing kicks it took off `_pending`


def task_publish_soon(task: Task, *, expires: float | None = None) -> None:
    """Queue `task()` from the background thread, once, however many callers ask before it is published."""
    global _thread_pid
    with _cond:
        _pending[task.name] = (task, expires)
        if _thread_pid != os.getpid():
            _thread_pid = os.getpid()
            threading.Thread(target=_publish_forever, name="dispatcher-kicks", daemon=True).start()
        _cond.notify_all()  # all: a `kicks_flush` may be waiting on the same condition


def kicks_flush(timeout: float = 2.0) -> bool:
    """Wait until this process's kicks asked for so far are published (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    with _cond:
        while (_pending or _publishing) and _thread_pid == os.getpid():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _cond.wait(left)
    return True


atexit.register(kicks_flush)


def _publish_forever() -> None:
    global _publishing
    while True:
        with _cond:
            _publishing = False
            _cond.notify_all()
            while not _pending:
                _cond.wait()
            kicks = list(_pending.values())
            _pending.clear()
            _publishing = True
        for task, expires in kicks:
            try:
                task_publish(task, expires=expires)  # never raises for a broker failure (logged there)
            except Exception:  # a bug must not end the thread, or no kick would go out again
                logger.exception("publishing %s failed", task.name)
        # At a peak, the kicks asked for meanwhile fold into one: a publish costs this process a millisecond or
        # two of CPU, and a dispatcher started more often than this finds nothing the last one did not.
        time.sleep(MIN_INTERVAL_SECONDS)

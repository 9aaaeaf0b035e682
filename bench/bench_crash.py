"""Three workers, one SIGKILLed while handing a chunk over: how many emails are lost, how many sent twice.

    .venv/bin/python -m bench.bench_crash        (N = 3,000 x BENCH_SCALE welcome rows; one run)

N welcome rows due at once; anymail's Postmark backend (unchanged) pointed at the local fake Postmark
(tests/drip/fake_esp.py: real HTTP, each request answered after 50 ms, messages searchable 2 s after they are
taken); three `celery worker --concurrency=1` processes with DRIP_BATCH_SIZE=500, DRIP_LEASE_SECONDS=15 and
ESP_LOOKUP_AFTER_SECONDS=5; this process fires the dispatcher every second and the lookup every 2 s, as beat would.
Once the fake has taken N/3 messages, it SIGKILLs (the whole process group) the worker that handed over the message
it is taking, before answering that request: Postmark has the chunk, the worker never learns it. Then, polling the
database, until every row is settled (bounded): rows total, rows the fake took (by our row id in Metadata), rows
taken twice, rows never taken, rows left unknown or scheduled, and the time taken.
"""

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from bench import common
from bench.bench_send import make_leads
from bench.machine import machine_info

NAME = "crash"
WORKERS = 3
DELAY_MS = 50
INDEX_DELAY_SECONDS = 2.0  # below ESP_LOOKUP_AFTER_SECONDS: a message the fake took is found, never resent
WORKER_ENV = {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend", "DRIP_BATCH_SIZE": "500",
              "DRIP_LEASE_SECONDS": "15", "ESP_LOOKUP_AFTER_SECONDS": "5"}
DISPATCH_EVERY, LOOKUP_EVERY = 1.0, 2.0
TIMEOUT_SECONDS = 300


class Worker:
    """One `celery worker --concurrency=1` in its own process group, so SIGKILL takes its pool child with it."""

    def __init__(self, env: dict[str, str], index: int) -> None:
        self.hostname = f"crash{index}-{os.getpid()}@%h"
        self.log = open(os.path.join(env["VAR_DIR"], f"worker{index}.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--concurrency=1",
             "--without-heartbeat", "--without-gossip", "--without-mingle", f"--hostname={self.hostname}"],
            cwd=common.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def owns(self, pid: int) -> bool:
        try:
            return os.getpgid(pid) == self.proc.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        common.stop_process_group(self.proc)
        self.log.close()


def workers_ready(count: int) -> None:
    from config.celery import app

    common.wait_for(lambda: len(app.control.ping(timeout=0.5)) >= count, 90, what=f"{count} celery workers")


class KillMidHandOver:
    """Wraps the fake's `take`: at the `after`-th message taken, SIGKILL the worker whose claim holds that row,
    before the fake answers the request (the rest of the request is still taken, as Postmark would)."""

    def __init__(self, fake: Any, workers: list[Worker], after: int) -> None:
        self.fake, self.workers, self.after = fake, workers, after
        self.take = fake.take
        self.lock = threading.Lock()
        self.seen = 0
        self.killed: Worker | None = None
        self.killed_at = 0.0
        self.claim = ""
        fake.take = self

    def __call__(self, message: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.seen += 1
            if self.seen == self.after:
                self._kill(int(message["Metadata"]["row_id"]))
        return self.take(message, extra)

    def _kill(self, row_id: int) -> None:
        from django.db import connection

        from emails.models import ScheduledEmail

        try:
            self.claim = ScheduledEmail.objects.values_list("claimed_by", flat=True).get(pk=row_id)
        finally:
            connection.close()  # this is the fake's request thread
        pid = int(self.claim.split(":")[1])  # claims are "<host>:<pid>:<token>" (emails/dispatch.py)
        for worker in self.workers:
            if worker.owns(pid):
                worker.kill()
                self.killed, self.killed_at = worker, time.monotonic()
                return
        raise RuntimeError(f"no worker owns pid {pid} of claim {self.claim}")


def main() -> None:
    from tests.drip.fake_esp import FakePostmark

    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine_info().items()), flush=True)
    n = common.scaled(3_000, minimum=300)
    with FakePostmark() as fake, common.bench_database(NAME):
        fake.delay, fake.index_delay = DELAY_MS / 1000, INDEX_DELAY_SECONDS
        base = {"ANYMAIL_POSTMARK_SERVER_TOKEN": "bench", "ANYMAIL_POSTMARK_API_URL": fake.url}
        common.django_setup(NAME, **base)
        common.redis_flush()
        make_leads(n)
        env = common.bench_env(NAME, **base, **WORKER_ENV)
        os.makedirs(env["VAR_DIR"], exist_ok=True)
        workers = [Worker(env, i) for i in range(WORKERS)]
        try:
            workers_ready(WORKERS)
            result = crash_run(fake, workers, n)
        finally:
            for worker in workers:
                worker.stop()
            common.redis_flush()
    print(f"{result['rows']} rows, {WORKERS} workers, one SIGKILLed after {result['killed_after_messages']} "
          f"messages: {result['rows_taken']} taken by the fake Postmark, {result['taken_twice']} taken twice, "
          f"{result['never_taken']} never taken, {result['left_unsettled']} left unknown/scheduled/sending; "
          f"{result['unknown_peak']} rows were unknown at the peak, {result['resent']} resent; every row settled "
          f"in {result['seconds']:.1f} s ({result['seconds_after_kill']:.1f} s after the kill)", flush=True)
    common.emit(result)


def crash_run(fake: Any, workers: list[Worker], n: int) -> dict[str, Any]:
    from django.utils import timezone

    from emails.models import EmailEvent, ScheduledEmail
    from emails.tasks import dispatch_due, unknown_rows_settle
    from leads.models import Lead
    from tests.drip.fake_esp import FakePostmark

    assert isinstance(fake, FakePostmark)
    status = ScheduledEmail.Status
    now = timezone.now()
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead_id=lead_id, step="welcome", send_at=now, created_at=now)
                                        for lead_id in Lead.objects.order_by("pk").values_list("pk", flat=True)],
                                       batch_size=2000)
    kill = KillMidHandOver(fake, workers, after=n // 3)
    rows = ScheduledEmail.objects.all()
    unsettled = rows.filter(status__in=[status.SCHEDULED, status.SENDING, status.UNKNOWN])
    started = time.monotonic()
    last_dispatch = last_lookup = 0.0
    unknown_peak = 0
    while True:
        clock = time.monotonic()
        if clock - last_dispatch >= DISPATCH_EVERY:  # what beat does: the dispatcher and the lookup, periodically
            dispatch_due.apply_async(expires=10)
            last_dispatch = clock
        if clock - last_lookup >= LOOKUP_EVERY:
            unknown_rows_settle.apply_async(expires=10)
            last_lookup = clock
        unknown_peak = max(unknown_peak, rows.filter(status=status.UNKNOWN).count())
        if kill.killed is not None and not unsettled.exists():
            break
        if clock - started > TIMEOUT_SECONDS:
            print(f"timed out after {TIMEOUT_SECONDS} s", flush=True)
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    taken = collections.Counter(int(m["Metadata"]["row_id"]) for m in fake.accepted)
    ids = set(rows.values_list("pk", flat=True))
    statuses = collections.Counter(rows.values_list("status", flat=True))
    return {
        "bench": NAME, "rows": n, "workers": WORKERS, "delay_ms": DELAY_MS, "index_delay_s": INDEX_DELAY_SECONDS,
        **{k.lower(): v for k, v in WORKER_ENV.items() if k != "EMAIL_BACKEND"},
        "killed_after_messages": kill.after, "killed_claim": kill.claim,
        "rows_taken": len(ids & set(taken)), "taken_twice": sum(1 for c in taken.values() if c > 1),
        "never_taken": len(ids - set(taken)), "left_unsettled": unsettled.count(),
        "statuses": dict(statuses), "unknown_peak": unknown_peak,
        "resent": EmailEvent.objects.filter(event_type="resent").count(),
        "requests": fake.requests, "searches": fake.searches,
        "seconds": elapsed, "seconds_after_kill": (started + elapsed) - kill.killed_at if kill.killed else 0.0,
    }


if __name__ == "__main__":
    main()

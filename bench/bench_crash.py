"""Three workers, one SIGKILLed while handing a chunk over: how many emails are lost, how many sent twice.

    .venv/bin/python -m bench.bench_crash        (N = 3,000 x BENCH_SCALE welcome rows; one run)

N welcome rows due at once; anymail's Postmark backend (unchanged) pointed at the local fake Postmark
(tests/drip/fake_esp.py: real HTTP, each request answered after 50 ms, messages searchable 2 s after they are
taken); three `celery worker --concurrency=1` processes with DRIP_BATCH_SIZE=500, DRIP_LEASE_SECONDS=15 and
ESP_LOOKUP_AFTER_SECONDS=5; this process fires the dispatcher every second and the lookup every 2 s, as beat would.
Once the fake has taken N/3 messages, the next batch request that arrives SIGKILLs (the whole process group) the
worker that sent it and is never answered; twice, each with fresh rows and workers: once the fake takes that chunk
first (Postmark has it, the worker never learns it: the lookup must find it, not resend it), once it takes none of
it (the worker died after marking the chunk handed over: the lookup must resend it, once). Then, polling the
database, until every row is settled (bounded): rows total, rows the fake took (by our row id in Metadata), rows
taken twice, rows never taken, rows left unknown or scheduled, and the time taken.
"""

import collections
import io
import json
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
WHEN_TAKEN = "after Postmark took the chunk"
WHEN_NOT_SENT = "before the chunk reached Postmark"


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

    common.wait_for(lambda: len(app.control.ping(timeout=0.5) or []) >= count, 90, what=f"{count} celery workers")


class KillMidHandOver:
    """Wraps the fake Postmark's request handler: the first batch request that arrives once `after` messages were
    taken kills (SIGKILL) the worker whose claim holds its rows and is never answered. WHEN_TAKEN: the fake takes
    every message of it first (Postmark has the chunk, the worker never learns it); WHEN_NOT_SENT: it takes none
    (the chunk was marked handed over, then the worker died before Postmark got it)."""

    def __init__(self, fake: Any, workers: list[Worker], *, after: int, when: str) -> None:
        self.workers, self.after, self.when = workers, after, when
        self.lock = threading.Lock()
        self.killed: Worker | None = None
        self.killed_at = 0.0
        self.claim = ""
        kill = self
        handler: Any = fake.server.RequestHandlerClass

        class KillingHandler(handler):  # type: ignore[misc]
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with kill.lock:
                    trigger = kill.killed is None and len(fake.accepted) >= kill.after
                    if trigger:
                        fake.requests += 1
                        messages = json.loads(raw)
                        if kill.when == WHEN_TAKEN:
                            for message in messages:
                                fake.take(message, {})
                        kill.kill_owner(int(messages[0]["Metadata"]["row_id"]))
                if trigger:
                    self.close_connection = True
                    return  # no answer: the worker is gone
                self.rfile: Any = io.BytesIO(raw)
                super().do_POST()

        fake.server.RequestHandlerClass = KillingHandler

    def kill_owner(self, row_id: int) -> None:
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
    result: dict[str, Any] = {"bench": NAME, "rows": n, "workers": WORKERS, "delay_ms": DELAY_MS,
                              "index_delay_s": INDEX_DELAY_SECONDS,
                              **{k.lower(): v for k, v in WORKER_ENV.items() if k != "EMAIL_BACKEND"}, "when": {}}
    with common.bench_database(NAME):
        common.django_setup(NAME)
        make_leads(n)
        for when in (WHEN_TAKEN, WHEN_NOT_SENT):
            common.redis_flush()
            with FakePostmark() as fake:
                fake.delay, fake.index_delay = DELAY_MS / 1000, INDEX_DELAY_SECONDS
                env = common.bench_env(NAME, ANYMAIL_POSTMARK_SERVER_TOKEN="bench", ANYMAIL_POSTMARK_API_URL=fake.url,
                                       **WORKER_ENV)
                os.makedirs(env["VAR_DIR"], exist_ok=True)
                workers = [Worker(env, i) for i in range(WORKERS)]
                try:
                    workers_ready(WORKERS)
                    figures = result["when"][when] = crash_run(fake, workers, n, when=when)
                finally:
                    for worker in workers:
                        worker.stop()
            print(f"{n} rows, {WORKERS} workers, one SIGKILLed after {figures['killed_after_messages']} messages, "
                  f"{when}: {figures['rows_taken']} taken by the fake Postmark, {figures['taken_twice']} taken "
                  f"twice, {figures['never_taken']} never taken, {figures['left_unsettled']} left "
                  f"unknown/scheduled/sending; {figures['unknown_peak']} rows were unknown at the peak, "
                  f"{figures['resent']} resent; every row settled in {figures['seconds']:.1f} s "
                  f"({figures['seconds_after_kill']:.1f} s after the kill)", flush=True)
        common.redis_flush()
    common.emit(result)


def crash_run(fake: Any, workers: list[Worker], n: int, *, when: str) -> dict[str, Any]:
    from django.utils import timezone

    from emails.models import EmailEvent, ScheduledEmail
    from emails.tasks import dispatch_due, unknown_rows_settle
    from leads.models import Lead
    from tests.drip.fake_esp import FakePostmark

    assert isinstance(fake, FakePostmark)
    status = ScheduledEmail.Status
    now = timezone.now()
    ScheduledEmail.objects.all().delete()
    EmailEvent.objects.all().delete()
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead_id=lead_id, step="welcome", send_at=now, created_at=now)
                                        for lead_id in Lead.objects.order_by("pk").values_list("pk", flat=True)],
                                       batch_size=2000)
    kill = KillMidHandOver(fake, workers, after=n // 3, when=when)
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
    if kill.killed is None:
        raise RuntimeError("no worker was killed: the kill never triggered (see the workers' logs in VAR_DIR)")
    taken = collections.Counter(int(m["Metadata"]["row_id"]) for m in fake.accepted)
    ids = set(rows.values_list("pk", flat=True))
    statuses = collections.Counter(rows.values_list("status", flat=True))
    return {
        "killed_after_messages": kill.after, "killed_claim": kill.claim,
        "rows_taken": len(ids & set(taken)), "taken_twice": sum(1 for c in taken.values() if c > 1),
        "never_taken": len(ids - set(taken)), "left_unsettled": unsettled.count(),
        "statuses": dict(statuses), "unknown_peak": unknown_peak,
        "resent": EmailEvent.objects.filter(event_type="resent").count(),
        "requests": fake.requests, "searches": fake.searches,
        "seconds": elapsed, "seconds_after_kill": (started + elapsed) - kill.killed_at,
    }


if __name__ == "__main__":
    main()

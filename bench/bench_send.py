"""Sending: N personalised emails due now, through the real dispatcher in a real Celery worker process.

    .venv/bin/python -m bench.bench_send            (N = 10,000 x BENCH_SCALE, BENCH_RUNS runs)

Each run inserts N rows (welcome and day-1..day-7, one per lead, every lead a different name) due now, kicks the
dispatcher task once (as `email_queue` does) and, like beat, every 5 s while rows are due, and times until every
row is `sent`. The backend accepts and discards, after building the MIME bytes. In the same run:
- floor: the same N messages rendered by the same code and turned into MIME bytes in a plain loop, no database;
- django-post-office (installed into .venv for this benchmark only): the same N messages rendered, queued with
  `mail.send_many` and sent by its own `send_queued` loop to the same discarding backend.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from bench import common

NAME = "send"
STEPS = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]


def post_office_available() -> bool:
    """Installs django-post-office into this venv on first use (benchmark only); False if that is impossible."""
    from importlib.util import find_spec

    if find_spec("post_office") is not None:
        return True
    print("django-post-office is not installed; installing it into .venv for this benchmark only "
          "(it is not a project dependency)", flush=True)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "django-post-office"], check=False)
    if done.returncode != 0:
        print("could not install django-post-office: the comparison with it is skipped", flush=True)
        return False
    import importlib

    importlib.invalidate_caches()
    return find_spec("post_office") is not None


def make_leads(n: int) -> None:
    from leads.models import Lead

    Lead.objects.bulk_create([
        Lead(email=f"reader{i}@bench.example", first_name=f"Reader{i}", status=Lead.Status.SUBSCRIBED,
             time_zone="America/New_York") for i in range(n)], batch_size=2000)


def make_due_rows() -> list[int]:
    from django.utils import timezone

    from emails.models import ScheduledEmail
    from leads.models import Lead

    ScheduledEmail.objects.all().delete()
    now = timezone.now() - timedelta(seconds=1)
    lead_ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    rows = ScheduledEmail.objects.bulk_create(
        [ScheduledEmail(lead_id=lead_id, step=STEPS[i % len(STEPS)], send_at=now, created_at=now)
         for i, lead_id in enumerate(lead_ids)], batch_size=2000)
    return [r.pk for r in rows]


def rows_in_memory() -> list[Any]:
    from emails.models import ScheduledEmail

    return list(ScheduledEmail.objects.select_related("lead").order_by("pk"))


def floor_run(rows: list[Any]) -> float:
    """Render + MIME bytes for every message, in a plain loop: what any sender must do at the very least."""
    from bench.backends import mime_bytes
    from emails.content.current import copy_batch
    from emails.message import build_message
    from emails.rendering import render_email

    started = time.perf_counter()
    with copy_batch():  # as the dispatcher reads the published copy: once, not once per email
        for row in rows:
            mime_bytes(build_message(row.lead, row, render_email(row.lead, row)))
    return time.perf_counter() - started


def post_office_run(rows: list[Any], lockfile: str) -> float:
    """Render the same messages, queue them in post_office and send them with its own batch loop."""
    from django.conf import settings
    from post_office import mail
    from post_office.models import Email

    from emails.content.current import copy_batch
    from emails.message import build_message
    from emails.rendering import render_email

    Email.objects.all().delete()
    started = time.perf_counter()
    batch = []
    with copy_batch():
        rendered_all = [render_email(row.lead, row) for row in rows]
    for row, rendered in zip(rows, rendered_all, strict=True):
        message = build_message(row.lead, row, rendered)  # the same headers (List-Unsubscribe, Message-ID)
        batch.append({"sender": settings.DEFAULT_FROM_EMAIL, "recipients": [row.lead.email],
                      "subject": rendered.subject, "message": rendered.text, "html_message": rendered.html,
                      "headers": dict(message.extra_headers), "priority": "medium"})
        if len(batch) == 1000:
            mail.send_many(batch)
            batch = []
    if batch:
        mail.send_many(batch)
    mail.send_queued_mail_until_done(lockfile=lockfile, processes=1)
    elapsed = time.perf_counter() - started
    sent = Email.objects.filter(status=0).count()  # post_office's STATUS.sent
    if sent != len(rows):
        raise AssertionError(f"post_office sent {sent} of {len(rows)}")
    return elapsed


class Worker:
    """`celery worker --concurrency=1`: one worker process, the unit the figure is quoted per."""

    def __init__(self, env: dict[str, str]) -> None:
        self.log = open(os.path.join(env["VAR_DIR"], "worker.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--concurrency=1",
             "--without-heartbeat", "--without-gossip", "--without-mingle", f"--hostname=bench-{os.getpid()}@%h"],
            cwd=common.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self) -> None:
        from config.celery import app

        common.wait_for(lambda: self.proc.poll() is not None or app.control.ping(timeout=0.5), 60,
                        what="the celery worker")
        if self.proc.poll() is not None:
            raise RuntimeError("the celery worker exited; see var/bench-send/worker.log")

    def stop(self) -> None:
        common.stop_process_group(self.proc)
        self.log.close()


def dispatcher_run(n: int) -> float:
    from emails.models import ScheduledEmail
    from emails.tasks import dispatch_due

    sent = ScheduledEmail.objects.filter(status=ScheduledEmail.Status.SENT)
    started = time.perf_counter()
    dispatch_due.delay()
    last_kick = started
    while sent.count() < n:
        time.sleep(0.1)
        if time.perf_counter() - last_kick > 5:  # what beat does every DRIP_DISPATCH_EVERY_SECONDS
            dispatch_due.delay()
            last_kick = time.perf_counter()
        if time.perf_counter() - started > 600:
            raise TimeoutError(f"only {sent.count()} of {n} sent after 600 s")
    elapsed = time.perf_counter() - started
    left = ScheduledEmail.objects.exclude(status=ScheduledEmail.Status.SENT).count()
    if left:
        raise AssertionError(f"{left} rows not sent")
    return elapsed


def queries_per_batch(size: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from emails.dispatch import dispatch_batch

    with CaptureQueriesContext(connection) as captured:
        outcomes = dispatch_batch(size=size)
    if len(outcomes.sent) != size:
        raise AssertionError(f"expected a full batch of {size}, got {outcomes.counts()}")
    return len(captured.captured_queries)


def main() -> None:
    n = common.scaled(10_000, minimum=200)
    with_post_office = post_office_available()
    env = common.bench_env(NAME, DJANGO_SETTINGS_MODULE="bench.settings_send")
    os.makedirs(env["VAR_DIR"], exist_ok=True)
    with common.bench_database(NAME):
        common.django_setup(NAME, DJANGO_SETTINGS_MODULE="bench.settings_send")
        import logging

        from django.conf import settings

        logging.getLogger("post_office").setLevel(logging.WARNING)  # it logs every batch at INFO
        common.redis_flush()
        make_leads(n)
        batch_size = settings.DRIP_BATCH_SIZE
        make_due_rows()
        queries = queries_per_batch(batch_size)
        worker = Worker(env)
        try:
            worker.wait_ready()
            floor_run(rows_in_memory()[:200])  # warm-up: template loading and compiling, CSS inliner
            ours, floor, peer = [], [], []
            for run in range(common.runs()):
                make_due_rows()
                rows = rows_in_memory()
                floor.append(floor_run(rows))
                ours.append(dispatcher_run(n))
                if with_post_office:
                    peer.append(post_office_run(rows, os.path.join(env["VAR_DIR"], "post_office")))
                print(f"run {run + 1}: dispatcher {n / ours[-1]:.0f}/s, floor {n / floor[-1]:.0f}/s"
                      + (f", post_office {n / peer[-1]:.0f}/s" if peer else ""), flush=True)
        finally:
            worker.stop()
            common.redis_flush()
    result: dict[str, Any] = {
        "bench": "send", "n": n, "runs": len(ours), "batch_size": batch_size, "queries_per_batch": queries,
        "emails_per_s": common.median([n / t for t in ours]),
        "floor_emails_per_s": common.median([n / t for t in floor]),
        "vs_floor": common.median([o / f for o, f in zip(ours, floor, strict=True)]),
    }
    if peer:
        result["post_office_emails_per_s"] = common.median([n / t for t in peer])
        result["vs_post_office"] = common.median([p / o for o, p in zip(ours, peer, strict=True)])
    common.emit(result)


if __name__ == "__main__":
    main()

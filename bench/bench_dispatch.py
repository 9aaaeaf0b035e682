"""The dispatcher alone, in this process: emails/s and queries per batch, for several batch sizes.

    .venv/bin/python -m bench.bench_dispatch          (N = 6,000 x BENCH_SCALE per batch size)

`bench_send` times the whole path through a Celery worker; this one isolates `dispatch_batch` (claim, re-check,
render, hand to a backend that builds the MIME bytes and discards them, record) so the per-batch query count can
be read directly, and sets it against the floor: the same messages rendered and serialised with no database.
"""

import time
from datetime import timedelta
from typing import Any

from bench import common

NAME = "dispatch"
STEPS = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]


def fill(n: int) -> None:
    from django.utils import timezone

    from emails.models import ScheduledEmail
    from leads.models import Lead

    ScheduledEmail.objects.all().delete()
    Lead.objects.all().delete()
    leads = Lead.objects.bulk_create(
        [Lead(email=f"reader{i}@bench.example", first_name=f"Reader{i}", status=Lead.Status.SUBSCRIBED)
         for i in range(n)], batch_size=2000)
    due = timezone.now() - timedelta(seconds=1)
    ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step=STEPS[i % len(STEPS)], send_at=due)
                                        for i, lead in enumerate(leads)], batch_size=2000)


def floor(n: int) -> float:
    from bench.backends import mime_bytes
    from emails.content.current import copy_batch
    from emails.message import build_message
    from emails.models import ScheduledEmail
    from emails.rendering import render_email

    rows = list(ScheduledEmail.objects.select_related("lead")[:n])
    started = time.perf_counter()
    with copy_batch():  # as the dispatcher reads the published copy: once, not once per email
        for row in rows:
            mime_bytes(build_message(row.lead, row, render_email(row.lead, row)))
    return len(rows) / (time.perf_counter() - started)


def dispatch(batch_size: int, n: int) -> tuple[float, list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from emails.dispatch import dispatch_batch

    queries: list[int] = []
    sent = 0
    started = time.perf_counter()
    while sent < n:
        with CaptureQueriesContext(connection) as captured:
            outcomes = dispatch_batch(size=batch_size)
        if outcomes.failed or not outcomes.sent:
            raise AssertionError(f"unexpected outcome {outcomes.counts()}")
        sent += len(outcomes.sent)
        queries.append(len(captured.captured_queries))
    return sent / (time.perf_counter() - started), queries


def main() -> None:
    import logging

    n = common.scaled(6000, minimum=400)
    with common.bench_database(NAME):
        common.django_setup(NAME, DJANGO_SETTINGS_MODULE="bench.settings_send")
        logging.disable(logging.INFO)
        from bench.machine import machine_info

        print(f"machine: {machine_info()}", flush=True)
        fill(400)
        dispatch(200, 400)  # warm-up: templates compiled, the backend's speed learnt
        result: dict[str, Any] = {"bench": NAME, "n": n, "batches": {}}
        for batch_size in (50, 200, 1000):
            fill(n)
            floor_rate = floor(n)
            rate, queries = dispatch(batch_size, n)
            full = queries[:-1] or queries  # the last batch may be short
            print(f"batch={batch_size:>5} emails={n} dispatcher {rate:6.0f}/s  floor {floor_rate:6.0f}/s  "
                  f"queries/batch {min(full)}..{max(full)}", flush=True)
            result["batches"][str(batch_size)] = {"emails_per_s": rate, "floor_emails_per_s": floor_rate,
                                                  "queries_per_batch": max(full)}
        common.emit(result)


if __name__ == "__main__":
    main()

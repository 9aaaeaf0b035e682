"""Sending through the ESP's HTTP API: emails/s per worker process through anymail's Postmark backend and a local
fake Postmark (tests/drip/fake_esp.py, real HTTP, keep-alive) answering each request after 0, 50 or 200 ms.

    .venv/bin/python -m bench.bench_esp        (N = 5,000 x BENCH_SCALE batched; fewer for the slow ways)

Each figure: N welcome/day-n rows due now, one `celery worker --concurrency=1` running the real dispatcher task
(kicked once, then every 5 s as beat does), timed until every row is `sent`. In the same run: a backend that
discards (after building the MIME bytes), the pace of our own CPU work; then three ways through the fake Postmark:
- one request per email, one after another: what the dispatcher did before (anymail's backend, subclassed only so
  the dispatcher does not recognise it as Postmark's, with ESP_CONCURRENCY=1);
- the same backend with ESP_CONCURRENCY=8 requests in flight: what any ESP without a batch endpoint now gets;
- Postmark's /email/batch (anymail's own backend, unchanged): what Postmark now gets, with the default batch of
  DRIP_BATCH_SIZE=200 rows and with 500 (one full Postmark batch per request).
"""

import os
from typing import Any

from bench import common
from bench.bench_send import Worker, dispatcher_run, make_due_rows, make_leads

NAME = "esp"
DELAYS_MS = [0, 50, 200]


def ways(n: int) -> list[tuple[str, int, dict[str, str]]]:
    """(label, rows, worker environment) for each way of sending."""
    one_by_one = "bench.backends.PostmarkOneByOne"
    return [
        ("no ESP: discarding backend (the CPU's pace)", n, {"EMAIL_BACKEND": "bench.backends.DiscardBackend"}),
        ("one request per email (before)", max(50, n // 25), {"EMAIL_BACKEND": one_by_one, "ESP_CONCURRENCY": "1"}),
        ("8 requests in flight", max(100, n // 5), {"EMAIL_BACKEND": one_by_one, "ESP_CONCURRENCY": "8"}),
        ("Postmark /email/batch", n, {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend"}),
        ("Postmark /email/batch, DRIP_BATCH_SIZE=500", n, {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                                                          "DRIP_BATCH_SIZE": "500"}),
    ]


def main() -> None:
    from tests.drip.fake_esp import FakePostmark

    n = common.scaled(5_000, minimum=200)
    figures: dict[str, dict[int, list[float]]] = {}
    with FakePostmark() as fake, common.bench_database(NAME):
        base = {"ANYMAIL_POSTMARK_SERVER_TOKEN": "bench", "ANYMAIL_POSTMARK_API_URL": fake.url}
        common.django_setup(NAME, **base)
        common.redis_flush()
        make_leads(n)
        for label, rows, extra in ways(n):
            env = common.bench_env(NAME, **base, **extra)
            os.makedirs(env["VAR_DIR"], exist_ok=True)
            worker = Worker(env)
            try:
                worker.wait_ready()
                for delay_ms in DELAYS_MS if "postmark" in extra["EMAIL_BACKEND"].lower() else [0]:
                    fake.delay = delay_ms / 1000
                    for _ in range(common.runs()):
                        _due_rows(rows)
                        elapsed = dispatcher_run(rows)
                        figures.setdefault(label, {}).setdefault(delay_ms, []).append(rows / elapsed)
                        print(f"{label}, {delay_ms} ms per request: {rows / elapsed:.0f} emails/s "
                              f"({rows} emails, {fake.requests} requests so far)", flush=True)
                        fake.accepted.clear()
                        fake.received.clear()
            finally:
                worker.stop()
        common.redis_flush()
    result: dict[str, Any] = {"bench": "esp", "n": n, "runs": common.runs(), "emails_per_s": {
        label: {str(delay): common.median(values) for delay, values in by_delay.items()}
        for label, by_delay in figures.items()}}
    common.emit(result)


def _due_rows(rows: int) -> None:
    from emails.models import ScheduledEmail

    make_due_rows()
    keep = list(ScheduledEmail.objects.order_by("pk").values_list("pk", flat=True)[:rows])
    ScheduledEmail.objects.exclude(pk__in=keep).delete()


if __name__ == "__main__":
    main()

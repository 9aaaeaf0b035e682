"""Signup and Stripe webhook ingest under gunicorn, on PostgreSQL and Redis, driven from another process.

    .venv/bin/python -m bench.bench_web             (sizes x BENCH_SCALE; BENCH_RUNS runs)

The server is what the image ships: `bin/web` (gunicorn, its gthread workers and threads, access log on) with the
production middleware and a real Redis cache and broker (every signup kicks the dispatcher, as in production).
The rate limit is raised for the run (SIGNUP_RATE_LIMIT), since every request comes from 127.0.0.1.

- trivial view: GET /thanks/ (a static page through the whole Django stack), the baseline in the same server;
- signup: the real form POST with its CSRF cookie and token (taken from GET / first), a new address each time;
  most requests per second with 16 clients, and p50/p99 at a fixed 300/s offered (and at 100/s);
- Stripe webhook: `checkout.session.completed` events signed with the webhook secret, each delivered twice in
  random order (half the traffic is duplicates), 16 clients: signed deliveries per second and p50/p99. The webhook
  verifies, stores and answers; no worker runs meanwhile (on 2 shared cores it would measure the machine, not the
  webhook: the queue takes the burst). Then a real Celery worker fulfils every session, reading each back from a
  local fake of Stripe's API, and the sessions fulfilled per second are reported too.
- The same with every event of another set delivered 20 times at once (20 clients on the copies of one event),
  the worker running all along, so deliveries and processing of one event overlap.
Afterwards the database must hold exactly one lead per accepted signup, and after each webhook round exactly one
purchase and one access email per session.
"""

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlencode

from bench import common
from bench.bench_send import Worker
from bench.loadgen import Request, Response, closed_loop, fetch, open_loop

NAME = "web"
HOST = "127.0.0.1"
WEBHOOK_SECRET = "whsec_bench_0123456789"
FIXED_RATE = 300.0
CONCURRENCY = 16
STORM_COPIES = 20
DOMAINS = 500
MIN_FILL_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        # bin/web's own defaults for its processes and threads, unless the environment sets them, as in production.
        self.workers = int(env.get("WEB_CONCURRENCY", "3"))
        self.threads = int(env.get("WEB_THREADS", "4"))
        self.log = open(os.path.join(env["VAR_DIR"], "gunicorn.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.port = port
        self.proc = subprocess.Popen(
            [os.path.join(common.ROOT, "bin", "web")],
            cwd=common.ROOT, env={**env, "BIND": f"{HOST}:{port}",
                                  "PATH": f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited; see var/bench-web/gunicorn.log")
            try:
                return asyncio.run(fetch(HOST, self.port, Request("GET", "/thanks/"))).status == 200
            except OSError:
                return False

        common.wait_for(up, 60, 0.2, "gunicorn")

    def stop(self) -> None:
        common.stop_process_group(self.proc)
        self.log.close()


def landing_forms(port: int, count: int) -> list[tuple[str, dict[str, str]]]:
    """(CSRF cookie, the form's hidden fields) from real GETs of the landing page, as a browser gets them."""
    from tests.faults.forms import signup_form_data

    forms = []
    for _ in range(count):
        response = asyncio.run(fetch(HOST, port, Request("GET", "/?utm_source=bench")))
        cookie = next(c.split(";", 1)[0] for c in response.headers["set-cookie"] if c.startswith("csrftoken="))
        forms.append((cookie, signup_form_data(response.body.decode())))
    return forms


class Signups:
    def __init__(self, forms: list[tuple[str, dict[str, str]]]) -> None:
        self.forms = forms
        self.serial = 0

    def make(self, i: int) -> Request:
        self.serial += 1
        cookie, hidden = self.forms[self.serial % len(self.forms)]
        # Readers of a launch come from many mail domains (the hourly cap per domain is not what is measured).
        body = urlencode({**hidden, "email": f"b{os.getpid()}x{self.serial}@d{self.serial % DOMAINS}.bench.example",
                          "first_name": f"Reader{self.serial}", "time_zone": "Europe/Paris"}).encode()
        return Request("POST", "/signup/", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                       body)


def is_redirect_to_thanks(response: Response) -> bool:
    return response.status == 302 and response.headers.get("location", [""])[0].endswith("/thanks/")


def is_ok(response: Response) -> bool:
    return response.status == 200


def trivial(_: int) -> Request:
    return Request("GET", "/thanks/")


def summary(result: Any) -> dict[str, float]:
    return {"rps": result.rate, "p50_ms": common.percentile(result.latencies, 50) * 1000,
            "p99_ms": common.percentile(result.latencies, 99) * 1000, "errors": result.errors}


def completion_events(fake: Any, n: int, tag: str) -> tuple[list[str], list[bytes]]:
    """n paid sessions for n new leads, and the `checkout.session.completed` event of each (its exact bytes)."""
    from leads.models import Lead
    from tests.checkout.fake_stripe import fixture

    leads = Lead.objects.bulk_create([Lead(email=f"buyer-{tag}-{i}@bench.example", first_name="Buyer",
                                           status=Lead.Status.SUBSCRIBED) for i in range(n)], batch_size=2000)
    sessions, events = [], []
    for lead in leads:
        session = fake.session_create_direct(metadata={"lead": str(lead.pk)}, client_reference_id=str(lead.pk))
        fake.complete(session["id"], email=lead.email)
        event = fixture("event")
        event.update(id=f"evt_bench_{tag}_{lead.pk}", type="checkout.session.completed", created=int(time.time()),
                     data={"object": dict(session)}, livemode=False)
        sessions.append(session["id"])
        events.append(json.dumps(event).encode())
    return sessions, events


def webhook_request(body: bytes) -> Request:
    from funnel.checkout.signatures import signature_header

    return Request("POST", "/webhooks/stripe/", {
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(body, secret=WEBHOOK_SECRET)}, body)


def fulfilled_once(sessions: list[str], timeout: float) -> None:
    """Wait for the worker to process every event of these sessions; then check one purchase and one access
    email per session."""
    from django.db.models import Count

    from emails.models import ScheduledEmail
    from funnel.models import Purchase, StripeEvent

    pending = StripeEvent.objects.filter(payload__data__object__id__in=sessions).exclude(
        status=StripeEvent.Status.PROCESSED)
    common.wait_for(lambda: not pending.exists(), timeout, 0.1, "the worker to process every event")
    purchases = Purchase.objects.filter(stripe_session_id__in=sessions, status=Purchase.Status.PAID)
    per_session = purchases.values("stripe_session_id").annotate(n=Count("id")).filter(n=1).count()
    access = ScheduledEmail.objects.filter(step="access", key__in=sessions).values("key").distinct().count()
    emails = ScheduledEmail.objects.filter(step="access", key__in=sessions).count()
    stored = StripeEvent.objects.filter(payload__data__object__id__in=sessions).count()
    if not (per_session == purchases.count() == access == emails == stored == len(sessions)):
        raise AssertionError(f"{len(sessions)} sessions: {stored} events stored, {purchases.count()} purchases "
                             f"({per_session} alone for their session), {emails} access emails")


def webhook_round(port: int, fake: Any, n: int, tag: str, worker_env: dict[str, str]) -> dict[str, float]:
    """n sessions, each event delivered twice, shuffled, 16 clients, no worker; then a worker fulfils them."""
    sessions, events = completion_events(fake, n, tag)
    # Signed before the clock starts: the load generator shares the 2 cores, and signing is Stripe's work.
    deliveries = [webhook_request(body) for body in events * 2]
    random.Random(8).shuffle(deliveries)
    result = asyncio.run(closed_loop(HOST, port, lambda i: deliveries[i], is_ok,
                                     concurrency=CONCURRENCY, total=len(deliveries)))
    figures = summary(result)
    worker = Worker(worker_env)
    try:
        started = time.perf_counter()
        worker.wait_ready()
        fulfilled_once(sessions, timeout=120 + n / 5)
        figures["fulfil_per_s"] = n / (time.perf_counter() - started)
    finally:
        worker.stop()
    return figures


def webhook_storm(port: int, fake: Any, n: int, tag: str, worker_env: dict[str, str]) -> dict[str, float]:
    """Every event of n sessions delivered 20 times, the 20 copies of one event in flight together, while a
    worker processes what the first copy queued."""
    sessions, events = completion_events(fake, n, tag)
    deliveries = [request for request in map(webhook_request, events) for _ in range(STORM_COPIES)]
    worker = Worker(worker_env)
    try:
        worker.wait_ready()
        result = asyncio.run(closed_loop(HOST, port, lambda i: deliveries[i], is_ok,
                                         concurrency=STORM_COPIES, total=len(deliveries)))
        fulfilled_once(sessions, timeout=120 + n / 5)
    finally:
        worker.stop()
    return summary(result)


def main() -> None:
    from tests.checkout.fake_stripe import fake_stripe_start, fake_stripe_stop

    closed_total = common.scaled(3000, minimum=300)
    fixed_total = common.scaled(int(FIXED_RATE * 10), minimum=900)
    sessions = common.scaled(2000, minimum=200)
    storm_sessions = common.scaled(100, minimum=20)
    fake = fake_stripe_start()
    port = free_port()
    # The fill-time check at its production default (the forms are used once they are older than that), and the
    # total confirmation cap raised as a seller would before a launch.
    env = common.bench_env(NAME, SIGNUP_RATE_LIMIT="100000000/s", DRIP_KICK_ON_QUEUE="true",
                           SIGNUP_MIN_FILL_SECONDS=str(MIN_FILL_SECONDS), CONFIRMATION_CAP_PER_HOUR="1000000",
                           CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR="500",
                           STRIPE_SECRET_KEY="sk_test_bench", STRIPE_API_BASE=fake.url,
                           STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, SITE_URL=f"https://{HOST}:{port}")
    os.makedirs(env["VAR_DIR"], exist_ok=True)
    with common.bench_database(NAME):
        common.django_setup(NAME)
        common.redis_flush()
        from leads.models import Lead

        server = Server(env, port)
        try:
            server.wait_ready()
            signups = Signups(landing_forms(port, 20))
            time.sleep(MIN_FILL_SECONDS)  # a reader takes that long to fill the form in; a quicker post is a bot's
            # Warm-up: every worker imports, connects and compiles its templates before we time anything.
            asyncio.run(closed_loop(HOST, port, trivial, is_ok, concurrency=CONCURRENCY, total=200))
            asyncio.run(closed_loop(HOST, port, signups.make, is_redirect_to_thanks, concurrency=CONCURRENCY,
                                    total=200))
            runs: list[dict[str, Any]] = []
            for run in range(common.runs()):
                figures = {
                    "trivial_max": summary(asyncio.run(closed_loop(
                        HOST, port, trivial, is_ok, concurrency=CONCURRENCY, total=closed_total))),
                    "signup_max": summary(asyncio.run(closed_loop(
                        HOST, port, signups.make, is_redirect_to_thanks, concurrency=CONCURRENCY,
                        total=closed_total))),
                    "trivial_fixed": summary(asyncio.run(open_loop(
                        HOST, port, trivial, is_ok, rate=FIXED_RATE, total=fixed_total))),
                    "signup_fixed": summary(asyncio.run(open_loop(
                        HOST, port, signups.make, is_redirect_to_thanks, rate=FIXED_RATE, total=fixed_total))),
                    # The same at a third of the target rate: the latency of a server that is not saturated.
                    "signup_fixed_low": summary(asyncio.run(open_loop(
                        HOST, port, signups.make, is_redirect_to_thanks, rate=FIXED_RATE / 3,
                        total=fixed_total // 3))),
                }
                print(f"run {run + 1}: " + "; ".join(
                    f"{k} {v['rps']:.0f}/s p50 {v['p50_ms']:.1f} p99 {v['p99_ms']:.1f} ms err {v['errors']}"
                    for k, v in figures.items()), flush=True)
                runs.append(figures)
            signed_up = Lead.objects.filter(email__endswith=".bench.example", utm_source="bench").count()

            worker_env = {**env, "DRIP_KICK_ON_QUEUE": "false"}  # access emails stay queued rows, counted
            webhook_round(port, fake, 100, "warm", worker_env)  # every web worker connects to the broker once
            hooks, storms = [], []
            for run in range(common.runs()):
                # The baseline again, just before: the ratio is taken within the same minute of a shared machine.
                baseline = summary(asyncio.run(closed_loop(HOST, port, trivial, is_ok, concurrency=CONCURRENCY,
                                                           total=sessions)))
                hooks.append(webhook_round(port, fake, sessions, f"r{run}", worker_env))
                hooks[-1]["vs_trivial"] = hooks[-1]["rps"] / baseline["rps"]
                storms.append(webhook_storm(port, fake, storm_sessions, f"s{run}", worker_env))
                print(f"webhook: {hooks[-1]['rps']:.0f} deliveries/s (trivial view just before: "
                      f"{baseline['rps']:.0f}/s) p50 {hooks[-1]['p50_ms']:.1f} "
                      f"p99 {hooks[-1]['p99_ms']:.1f} ms err {hooks[-1]['errors']}, then fulfilled "
                      f"{hooks[-1]['fulfil_per_s']:.0f} sessions/s; 20 at once: {storms[-1]['rps']:.0f}/s "
                      f"p99 {storms[-1]['p99_ms']:.1f} ms err {storms[-1]['errors']}; one purchase per session",
                      flush=True)
        finally:
            server.stop()
            fake_stripe_stop(fake)
            common.redis_flush()
    def med(key: str, field: str) -> float:
        return common.median([r[key][field] for r in runs])

    common.emit({
        "bench": "web", "workers": server.workers, "threads": server.threads, "concurrency": CONCURRENCY,
        "fixed_rate": FIXED_RATE,
        "closed_total": closed_total, "fixed_total": fixed_total, "signups_committed": signed_up,
        "signup_rps": med("signup_max", "rps"), "trivial_rps": med("trivial_max", "rps"),
        "signup_vs_trivial": common.median([r["signup_max"]["rps"] / r["trivial_max"]["rps"] for r in runs]),
        "signup_p50_ms": med("signup_fixed", "p50_ms"), "signup_p99_ms": med("signup_fixed", "p99_ms"),
        "trivial_p50_ms": med("trivial_fixed", "p50_ms"), "trivial_p99_ms": med("trivial_fixed", "p99_ms"),
        "signup_fixed_rps": med("signup_fixed", "rps"),
        "low_rate": FIXED_RATE / 3, "signup_low_p50_ms": med("signup_fixed_low", "p50_ms"),
        "signup_low_p99_ms": med("signup_fixed_low", "p99_ms"),
        "signup_errors": sum(r["signup_max"]["errors"] + r["signup_fixed"]["errors"] for r in runs),
        "webhook_sessions": sessions, "webhook_deliveries": sessions * 2, "webhook_concurrency": CONCURRENCY,
        "webhook_dps": common.median([h["rps"] for h in hooks]),
        "webhook_p50_ms": common.median([h["p50_ms"] for h in hooks]),
        "webhook_p99_ms": common.median([h["p99_ms"] for h in hooks]),
        "webhook_errors": sum(h["errors"] for h in hooks + storms),
        "webhook_fulfil_per_s": common.median([h["fulfil_per_s"] for h in hooks]),
        "webhook_vs_trivial": common.median([h["vs_trivial"] for h in hooks]),
        "storm_sessions": storm_sessions, "storm_copies": STORM_COPIES,
        "storm_dps": common.median([h["rps"] for h in storms]),
        "storm_p99_ms": common.median([h["p99_ms"] for h in storms]),
    })


if __name__ == "__main__":
    main()

"""Benchmark (not a test): dashboard and lead list render times on a big demo database in PostgreSQL.

    createdb -h 127.0.0.1 -U postgres funnel_bench_h7
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/funnel_bench_h7 DJANGO_SETTINGS_MODULE=bench.settings
    .venv/bin/python manage.py migrate --run-syncdb -v0
    .venv/bin/python manage.py seed_demo --leads 100000     (also builds the dashboard's daily rollup)
    .venv/bin/python bench/bench_dashboard.py [--runs 7]

Every figure is read from the daily rollup (funnel/dashboard/services.py; beat keeps it current in production, and
`manage.py rollup_rebuild --days 90` builds it for an existing database); today and yesterday while their build is
at most 10 minutes old, else counted live. bench/bench_admin.py measures 100,000 and 1,000,000 leads in one run.

Targets: dashboard < 300 ms at 100,000 leads (< 1 s at 1,000,000), lead changelist < 300 ms (medians, rendered
through the full Django stack with the test client: middleware, admin auth, template rendering).
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.machine import cpu_model  # noqa: E402
from emails.models import EmailEvent, ScheduledEmail  # noqa: E402
from funnel.models import Purchase, RollupDay  # noqa: E402
from leads.models import Lead  # noqa: E402


def timed(client: Client, url: str, params: dict[str, str], runs: int) -> tuple[list[float], int]:
    response = client.get(url, params)  # warm-up: connection, template loading, PostgreSQL caches
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url, params)
    return times, len(captured.captured_queries)


def report(name: str, times: list[float], queries: int, target_ms: float) -> None:
    median = statistics.median(times) * 1000
    verdict = "OK" if median < target_ms else "SLOWER THAN TARGET"
    print(f"{name:<44} median {median:7.1f} ms  min {min(times) * 1000:7.1f}  max {max(times) * 1000:7.1f}  "
          f"({len(times)} runs, {queries} queries)  target < {target_ms:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    leads = Lead.objects.count()
    if leads < 1000:
        sys.exit("Seed the database first: manage.py seed_demo --leads 100000 (see this file's docstring)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"PostgreSQL {pg_version}, {platform.system()} {platform.release()}, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    print(f"data: {leads:,} leads, {ScheduledEmail.objects.count():,} email rows, "
          f"{EmailEvent.objects.count():,} email events, {Purchase.objects.count():,} purchases, "
          f"{RollupDay.objects.count()} days in the dashboard's daily rollup")

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    today = timezone.now().date()
    # Cold: every figure computed from the tables (fresh=1 skips the figures cache). Warm: a repeat view of the same
    # filters within the cache's lifetime (sorting a table, downloading a CSV, reloading).
    for days in (7, 30, 90):
        period = {"start": str(today - timedelta(days=days - 1)), "end": str(today)}
        times, queries = timed(client, "/admin/dashboard/", {**period, "fresh": "1"}, args.runs)
        report(f"dashboard cold, last {days} days", times, queries, 1000)
        times, queries = timed(client, "/admin/dashboard/", period, args.runs)
        report(f"dashboard warm (cached), last {days} days", times, queries, 1000)
    times, queries = timed(client, "/admin/dashboard/", {"start": str(today - timedelta(days=29)), "end": str(today),
                                                        "utm_source": "google", "fresh": "1"}, args.runs)
    report("dashboard cold, last 30 days, source=google", times, queries, 1000)
    times, queries = timed(client, "/admin/leads/lead/", {}, args.runs)
    report("lead changelist", times, queries, 300)
    times, queries = timed(client, "/admin/leads/lead/", {"q": "demo-4242@"}, args.runs)
    report("lead changelist, search by email", times, queries, 300)
    times, queries = timed(client, "/admin/leads/lead/", {"is_customer__exact": "1", "confirmed": "yes"}, args.runs)
    report("lead changelist, buyers + confirmed filter", times, queries, 300)
    lead = Lead.objects.filter(is_customer=True).order_by("pk").first()
    if lead:
        times, queries = timed(client, f"/admin/leads/lead/{lead.pk}/change/", {}, args.runs)
        report("lead change page with timeline", times, queries, 300)


if __name__ == "__main__":
    main()

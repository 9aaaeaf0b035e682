"""The admin dashboard at 100,000 leads: the measurements of bench/bench_dashboard.py on a seeded throw-away
database, each page with the admin index (the cheapest staff page, same middleware and auth) as its baseline.
The dashboard is timed both computed from the database (`fresh=1`) and as served from its 5-minute cache.

    .venv/bin/python -m bench.bench_admin           (100,000 demo leads x BENCH_SCALE; BENCH_RUNS runs, at least 5)
"""

import os
import time
from datetime import timedelta
from typing import Any

from bench import common

NAME = "dashboard"


def main() -> None:
    leads = common.scaled(100_000, minimum=5_000)
    runs = max(common.runs(), 5)
    with common.bench_database(NAME):
        common.django_setup(NAME)
        common.redis_flush()  # the dashboard caches its figures in Redis: start cold, leave nothing behind
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("seed_demo", leads=leads, verbosity=0)
        print(f"seeded {leads:,} demo leads in {time.perf_counter() - started:.0f} s", flush=True)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        from django.contrib.auth.models import User
        from django.test import Client
        from django.utils import timezone

        from bench.bench_dashboard import timed  # warm-up, N timed GETs through the full stack, queries

        user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
        client = Client()
        client.force_login(user)
        today = timezone.now().date()
        last_30 = {"start": str(today - timedelta(days=29)), "end": str(today)}
        last_90 = {"start": str(today - timedelta(days=89)), "end": str(today)}
        pages: list[tuple[str, str, dict[str, str], float]] = [
            # fresh=1 computes every figure from the database; without it the dashboard's 5-minute cache answers.
            ("dashboard, last 30 days, computed (fresh=1)", "/admin/dashboard/", {**last_30, "fresh": "1"}, 1000),
            ("dashboard, last 90 days, computed (fresh=1)", "/admin/dashboard/", {**last_90, "fresh": "1"}, 1000),
            ("dashboard, last 30 days, from its cache", "/admin/dashboard/", last_30, 1000),
            ("lead list", "/admin/leads/lead/", {}, 300),
            ("lead list, search by email", "/admin/leads/lead/", {"q": "4242@"}, 300),
        ]
        results: list[dict[str, Any]] = []
        for label, url, params, target in pages:
            baseline, _ = timed(client, "/admin/", {}, runs)
            page, queries = timed(client, url, params, runs)
            results.append({"page": label, "median_ms": common.median(page) * 1000, "queries": queries,
                            "target_ms": target, "baseline_ms": common.median(baseline) * 1000,
                            "vs_baseline": common.median([p / b for p, b in zip(page, baseline, strict=True)])})
            print(f"{label}: {results[-1]['median_ms']:.0f} ms, {queries} queries", flush=True)
        common.redis_flush()
    common.emit({"bench": "dashboard", "leads": leads, "runs": runs, "pages": results})


if __name__ == "__main__":
    main()

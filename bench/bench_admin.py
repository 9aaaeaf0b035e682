"""The admin dashboard at 100,000 leads: H7's measurements (bench/bench_dashboard.py) on a seeded throw-away
database, each page with the admin index (the cheapest staff page, same middleware and auth) as its baseline.

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
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("seed_demo", leads=leads, verbosity=0)
        print(f"seeded {leads:,} demo leads in {time.perf_counter() - started:.0f} s", flush=True)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
        from django.contrib.auth.models import User
        from django.test import Client
        from django.utils import timezone

        from bench.bench_dashboard import timed  # H7's: warm-up, N timed GETs through the full stack, queries

        user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
        client = Client()
        client.force_login(user)
        today = timezone.now().date()
        pages: list[tuple[str, str, dict[str, str], float]] = [
            ("dashboard, last 30 days", "/admin/dashboard/",
             {"start": str(today - timedelta(days=29)), "end": str(today)}, 1000),
            ("dashboard, last 90 days", "/admin/dashboard/",
             {"start": str(today - timedelta(days=89)), "end": str(today)}, 1000),
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
    common.emit({"bench": "dashboard", "leads": leads, "runs": runs, "pages": results})


if __name__ == "__main__":
    main()

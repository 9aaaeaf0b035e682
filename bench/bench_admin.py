"""The admin dashboard at 100,000 and at 1,000,000 leads: each page with the admin index (the cheapest staff page,
same middleware and auth) as its baseline in the same run, and the dashboard's time per panel.

    .venv/bin/python -m bench.bench_admin           (100,000 demo leads x BENCH_SCALE, then ten times as many;
                                                     BENCH_RUNS runs, at least 5)

One throw-away database. First `seed_demo` (realistic leads, mail, events, clicks, checkouts, purchases over 90
days, and the dashboard's daily rollup built as a deployment does). Then the same data is copied nine more times in
SQL (INSERT … SELECT over generate_series, ids shifted, unique values suffixed, the plain indexes rebuilt once):
ten times the leads, mail and money on the same days, from the same sources, to the same mailbox providers. The
rollup is rebuilt over the copy with `rollup_rebuild_recent` (timed: what the nightly rebuild costs at that size).

The dashboard is timed computed from the database (`fresh=1`) for the last 30 and 90 days, and as served from its
5-minute cache; per panel, each selector is timed alone in the reporting transaction, as figures.compute runs them.
"""

import os
import time
from datetime import timedelta
from typing import Any

from bench import common

NAME = f"dashboard_{os.getpid()}"  # its own database, whoever else runs this benchmark at the same time
FACTOR = 10
# What is copied, parents first: the tables every dashboard figure reads.
COPIED = ["leads.Lead", "emails.ScheduledEmail", "emails.EmailEvent", "emails.Click", "funnel.CheckoutSession",
          "funnel.Purchase"]


def multiply(factor: int) -> None:
    """Copy the dashboard's tables factor - 1 more times (see the module's docstring)."""
    from django.apps import apps
    from django.db import connection, models

    models_ = [apps.get_model(label) for label in COPIED]
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        offsets = {}
        for model in models_:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {model._meta.db_table}")
            offsets[model] = cursor.fetchone()[0]
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)", [tables])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for model in models_:
            columns, expressions = [], []
            for f in model._meta.concrete_fields:
                columns.append(f'"{f.column}"')
                if f.primary_key:
                    expressions.append(f'"{f.column}" + k * {offsets[model]}')
                elif f.is_relation and f.related_model in offsets:
                    expressions.append(f'"{f.column}" + k * {offsets[f.related_model]}')
                elif f.column == "email":  # the domain stays: the same mailbox providers
                    expressions.append(f"'c' || k || '.' || \"{f.column}\"")
                elif f.unique and isinstance(f, models.CharField):
                    expressions.append(f"CASE WHEN \"{f.column}\" = '' THEN '' ELSE \"{f.column}\" || '-c' || k END")
                else:
                    expressions.append(f'"{f.column}"')
            cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                           f"SELECT {', '.join(expressions)} FROM {model._meta.db_table} "
                           f"CROSS JOIN generate_series(1, {factor - 1}) AS k WHERE id <= {offsets[model]}")
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
                           f"(SELECT max(id) FROM {model._meta.db_table}))")
        cursor.execute(f"UPDATE funnel_dailyvisit SET count = count * {factor}")  # as many visitors as signups
        for _, definition in indexes:
            cursor.execute(definition)
        for table in [*tables, "funnel_dailyvisit"]:
            cursor.execute(f"VACUUM ANALYZE {table}")


def panel_times(days: int, runs: int) -> dict[str, float]:
    """Median ms of each selector of figures.compute, alone, in the reporting transaction (computed, not cached)."""
    from django.utils import timezone

    from funnel.dashboard import selectors

    today = timezone.now().date()
    filters = selectors.DashboardFilters(start=today - timedelta(days=days - 1), end=today)
    previous = filters.previous()
    times: dict[str, list[float]] = {}

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        times.setdefault(name, []).append(time.perf_counter() - started)
        return result

    for _ in range(runs + 1):  # the first one warms up, as the page timings do
        with selectors.reporting_session():
            rolled = timed("days read from the rollup", selectors.read_days, previous.start, filters.end)
            rows = timed("signup cohort rows", selectors.signup_rows, previous.start, filters.end, filters=filters,
                         rolled=rolled)
            timed("funnel + sources", selectors.funnel_and_sources, filters, rows=rows)
            timed("conversion by day", selectors.conversion_by_day, filters, rows=rows)
            timed("cohorts", selectors.cohorts, filters, rows=rows)
            timed("per email", selectors.per_email, filters, rolled=rolled)
            timed("filter choices", selectors.utm_choices)
            timed("deliverability rates", selectors.deliverability_rates, filters.start, filters.end)
    return {name: common.median(values[1:]) * 1000 for name, values in times.items()}


def measure(leads: int, runs: int) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from bench.bench_dashboard import timed  # warm-up, N timed GETs through the full stack, queries
    from funnel.dashboard.services import REFRESH_WINDOW_DAYS, rollup_rebuild

    load = os.getloadavg()
    # What beat's 5-minute refresh rebuilds, just before measuring: today and yesterday are read from the rollup
    # while their build is fresh, as in production (funnel/dashboard/selectors/days.py read_days).
    today = timezone.now().date()
    refresh_s, _ = common.timed(lambda: rollup_rebuild(days=[today - timedelta(days=n)
                                                              for n in range(REFRESH_WINDOW_DAYS)]))
    print(f"{leads:,} leads: the refresh's rebuild of the last {REFRESH_WINDOW_DAYS} days took {refresh_s:.1f} s",
          flush=True)
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    last_30 = {"start": str(today - timedelta(days=29)), "end": str(today)}
    last_90 = {"start": str(today - timedelta(days=89)), "end": str(today)}
    dashboard_target = 300 if leads <= 100_000 else 1000
    pages: list[tuple[str, str, dict[str, str], float]] = [
        # fresh=1 computes every figure from the database; without it the dashboard's 5-minute cache answers.
        ("dashboard, last 30 days, computed (fresh=1)", "/admin/dashboard/", {**last_30, "fresh": "1"},
         dashboard_target),
        ("dashboard, last 90 days, computed (fresh=1)", "/admin/dashboard/", {**last_90, "fresh": "1"},
         dashboard_target),
        ("dashboard, last 30 days, from its cache", "/admin/dashboard/", last_30, dashboard_target),
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
        print(f"{leads:,} leads, {label}: {results[-1]['median_ms']:.0f} ms (admin index "
              f"{results[-1]['baseline_ms']:.0f} ms, {results[-1]['vs_baseline']:.1f}x), {queries} queries",
              flush=True)
    panels = {f"last {days} days": panel_times(days, runs) for days in (30, 90)}
    for period, figures in panels.items():
        print(f"{leads:,} leads, panels, {period}: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in figures.items()),
              flush=True)
    return {"leads": leads, "pages": results, "panels": panels, "refresh_seconds": refresh_s,
            "load_at_start": " ".join(f"{x:.2f}" for x in load),
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main() -> None:
    leads = common.scaled(100_000, minimum=5_000)
    runs = max(common.runs(), 5)
    sizes: list[dict[str, Any]] = []
    with common.bench_database(NAME):
        common.django_setup(NAME)
        common.redis_flush()  # the dashboard caches its figures in Redis: start cold, leave nothing behind
        from django.core.management import call_command

        from bench.machine import machine_info
        from funnel.dashboard.services import rollup_rebuild_recent

        print("machine: " + ", ".join(f"{key} {value}" for key, value in machine_info().items()), flush=True)
        started = time.perf_counter()
        call_command("seed_demo", leads=leads, verbosity=0)
        print(f"seeded {leads:,} demo leads (and built their rollup) in {time.perf_counter() - started:.0f} s",
              flush=True)
        sizes.append(measure(leads, runs))

        started = time.perf_counter()
        multiply(FACTOR)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        rollup_rebuild_recent(days=91)
        rebuilt = time.perf_counter() - started
        print(f"copied to {leads * FACTOR:,} leads in {copied:.0f} s; rollup of 91 days rebuilt in {rebuilt:.0f} s",
              flush=True)
        common.redis_flush()
        sizes.append({**measure(leads * FACTOR, runs), "load_seconds": copied, "rollup_rebuild_seconds": rebuilt})
        common.redis_flush()
    common.emit({"bench": "dashboard", "leads": leads, "runs": runs, "pages": sizes[0]["pages"], "sizes": sizes,
                 "before_ms": {"last 30 days": 469, "last 90 days": 558}})


if __name__ == "__main__":
    main()

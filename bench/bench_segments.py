"""Segment counts at 1,000,000 leads: each kind of condition, and the issue's example, against a bare COUNT(*).

    .venv/bin/python -m bench.bench_segments        (1,000,000 leads x BENCH_SCALE; BENCH_RUNS runs)

One throw-away database, filled in SQL with generate_series (the plain indexes built once the rows are in):
1,000,000 leads who signed up over the last 120 days (a mix of statuses, sources, time zones; 3 % buyers, 0.5 %
refunded), 1 to 8 sent sequence emails each (about 4.5 M rows), 700,000 clicks over the last 90 days (one in ten a
scanner's), and 100,000 tags; then each lead's count of marketing emails since a human click, by the same statement
the migration's backfill runs (its time is printed).
Each segment is counted with `segment_count` (the selector the admin page and broadcasts use), warm, BENCH_RUNS
times (at least 5); the baseline is `Lead.objects.count()` in the same run. EXPLAIN ANALYZE of the example segment
shows which indexes it reads.
"""

import time
from functools import partial
from typing import Any

from bench import common

NAME = "segments"
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
         "Australia/Sydney"]
SOURCES = ["", "fb", "google", "newsletter", "tiktok"]
SEGMENTS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "example": ("all", [{"kind": "purchase", "value": "not_bought"}, {"kind": "clicked_within", "days": 14}]),
    "status": ("all", [{"kind": "status", "value": "subscribed"}, {"kind": "status", "value": "paused"}]),
    "purchase": ("all", [{"kind": "purchase", "value": "refunded"}]),
    "tag": ("all", [{"kind": "has_tag", "tag": "interested"}, {"kind": "lacks_tag", "tag": "vip"}]),
    "source_and_date": ("all", [{"kind": "utm_source", "value": "fb"},
                                {"kind": "signup_date", "after": "2000-01-01", "before": None}]),
    "sequence": ("all", [{"kind": "sequence", "value": "finished"}, {"kind": "purchase", "value": "not_bought"}]),
    "no_click": ("all", [{"kind": "no_click_in_last", "emails": 3}]),
    "time_zone_or_source": ("any", [{"kind": "time_zone", "value": "Europe/Berlin"},
                                    {"kind": "utm_source", "value": "tiktok"}]),
}


def fill(leads: int) -> None:
    import json

    from django.db import connection

    from emails.models import Click, ScheduledEmail
    from leads.models import Lead

    zones = "(ARRAY[" + ", ".join(f"'{z}'" for z in ZONES) + f"])[1 + mod(g, {len(ZONES)})]"
    sources = "(ARRAY[" + ", ".join(f"'{s}'" for s in SOURCES) + f"])[1 + mod(g / 7, {len(SOURCES)})]"
    signed_up = f"now() - (g::float / {leads}) * interval '120 days'"
    lead_cols, lead_exprs, lead_params = common.literal_columns(Lead, {
        "email": "'r' || g || '@segments.example'", "first_name": "'Reader' || g",
        "status": "CASE WHEN mod(g, 20) = 0 THEN 'pending' WHEN mod(g, 10) = 1 THEN 'unsubscribed' "
                  "ELSE 'subscribed' END",
        "time_zone": zones, "utm_source": sources,
        "created_at": signed_up,
        "confirmed_at": f"CASE WHEN mod(g, 20) = 0 THEN NULL ELSE {signed_up} END",
        "paused_until": "CASE WHEN mod(g, 50) = 3 THEN now() + interval '2 days' END",
        "is_customer": "mod(g, 33) = 0",
        "customer_since": "CASE WHEN mod(g, 33) = 0 OR mod(g, 200) = 7 THEN now() - interval '30 days' END",
    })
    row_cols, row_exprs, row_params = common.literal_columns(ScheduledEmail, {
        "lead_id": "l.id", "step": "s.step", "stream": "'marketing'", "key": "''",
        "send_at": "l.created_at + (s.k - 1) * interval '1 day'", "status": "'sent'",
        "sent_at": "l.created_at + (s.k - 1) * interval '1 day'", "created_at": "l.created_at",
        "updated_at": "now()", "context": "'{}'::jsonb",
    })
    row_params = [json.dumps(p) if isinstance(p, dict) else p for p in row_params]
    click_cols, click_exprs, click_params = common.literal_columns(Click, {
        "lead_id": f"1 + mod(g::bigint * 7919, {leads})", "target": "'free_guide'",
        "created_at": f"now() - (g::float / {int(leads * 0.7)}) * interval '90 days'",
        "machine": "CASE WHEN mod(g, 10) = 0 THEN 'agent' ELSE '' END",
    })
    steps = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]
    started = time.perf_counter()

    def done(what: str) -> None:
        print(f"  {what}: {time.perf_counter() - started:.0f} s", flush=True)

    tables = ["leads_lead", "emails_scheduledemail", "emails_click", "leads_leadtag"]
    with connection.cursor() as cursor:
        # Rows go in without the indexes that are not constraints, which are then built once over the full tables:
        # several times faster than updating each index row by row.
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)", [tables])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f"INSERT INTO leads_lead ({', '.join(lead_cols)}) SELECT {', '.join(lead_exprs)} "
                       f"FROM generate_series(1, {leads}) AS g", lead_params)
        cursor.execute(
            f"INSERT INTO emails_scheduledemail ({', '.join(row_cols)}) SELECT {', '.join(row_exprs)} "
            "FROM leads_lead l CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS s(step, k) "
            "WHERE s.k <= 1 + mod(l.id, 8)", [*row_params, steps])
        done("leads and their sent emails")
        cursor.execute(f"INSERT INTO emails_click ({', '.join(click_cols)}) SELECT {', '.join(click_exprs)} "
                       f"FROM generate_series(1, {int(leads * 0.7)}) AS g", click_params)
        cursor.execute("INSERT INTO leads_tag (name, created_at) VALUES ('interested', now()), ('vip', now())")
        cursor.execute("INSERT INTO leads_leadtag (lead_id, tag_id, created_at) SELECT l.id, t.id, now() "
                       "FROM leads_lead l JOIN leads_tag t ON t.name = CASE WHEN mod(l.id, 10) = 0 THEN 'interested' "
                       "WHEN mod(l.id, 97) = 0 THEN 'vip' END")
        done("clicks and tags")
        # Lead.marketing_since_click, as the migration that added it fills it (one set-based statement).
        from emails.engagement import since_click_recount
        since_click_recount()
        done("marketing_since_click counted from the rows (the backfill)")
        for _, definition in indexes:
            cursor.execute(definition)
        done(f"{len(indexes)} indexes built")
        for table in ("leads_lead", "emails_scheduledemail", "emails_click", "leads_leadtag", "leads_tag"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def main() -> None:
    n = common.scaled(1_000_000, minimum=20_000)
    with common.filled_database(NAME, lambda: fill(n)) as load_s:
        from emails.segments.models import Segment
        from emails.segments.selectors import segment_count, segment_leads
        from emails.segments.services import segment_save
        from leads.models import Lead

        print(f"loaded {n:,} leads in {load_s:.0f} s", flush=True)
        segments = {name: segment_save(name=name, match=match, conditions=conditions)
                    for name, (match, conditions) in SEGMENTS.items()}
        for segment in segments.values():  # warm-up: caches, plans
            segment_count(segment)
        Lead.objects.count()
        times: dict[str, list[float]] = {name: [] for name in segments}
        baseline: list[float] = []
        counts: dict[str, int] = {}
        for _ in range(max(common.runs(), 5)):
            baseline.append(common.timed(Lead.objects.count)[0])
            for name, segment in segments.items():
                elapsed, counts[name] = common.timed(partial(segment_count, segment))
                times[name].append(elapsed)
        plan = str(segment_leads(segments["example"]).explain(analyze=True))
        print(plan, flush=True)
        words = {name: Segment.objects.get(name=name).describe() for name in segments}
    common.emit({
        "bench": NAME, "leads": n, "load_seconds": load_s, "count_all_ms": common.median(baseline) * 1000,
        "segments": [{"name": name, "words": words[name], "count": counts[name],
                      "median_ms": common.median(times[name]) * 1000,
                      "vs_count_all": common.median([t / b for t, b in zip(times[name], baseline, strict=True)])}
                     for name in segments],
        "plan": plan,
    })


if __name__ == "__main__":
    main()

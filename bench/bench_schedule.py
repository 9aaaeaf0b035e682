"""Scheduling at scale: the dispatcher's claim with 1,000 rows due among 8,000,000 vs among 10,000; enrolment.

    .venv/bin/python -m bench.bench_schedule        (1,000,000 leads x BENCH_SCALE; BENCH_RUNS runs)

Two schemas in one throw-away database hold the same tables: `small` (1,250 leads, 10,000 rows) and `public`
(1,000,000 leads, 8,000,000 rows: leads who signed up over the last 60 days, their past mail `sent`, their
coming mail `scheduled`), each with exactly 1,000 rows due now. Rows are made with generate_series in SQL. The
claim (every due row, in the dispatcher's batches) is timed in each schema in turn, so both see the same machine
state, then put back. EXPLAIN shows the claim reading the partial index `due_email_idx`.

Enrolment: `sequence_enrol` for 10,000 new leads, one transaction each (what a confirmation does), as rows/s,
against the bare floor of the same rows inserted with one `bulk_create` per lead.
"""

import time

from bench import common

NAME = "schedule"
DUE = 1000
SMALL_LEADS = 1250


def fill(schema: str, leads: int) -> None:
    """`leads` leads over the last 60 days, 8 rows each (past sent, future scheduled), then 1,000 due now."""
    import json

    from django.db import connection

    from emails.models import ScheduledEmail
    from leads.models import Lead

    lead_cols, lead_exprs, lead_params = common.literal_columns(Lead, {
        "email": "'r' || g || '@" + schema + ".example'",
        "first_name": "'Reader' || g", "status": "'subscribed'", "time_zone": "'America/New_York'",
        "created_at": "now() - (g::float / %(n)s) * interval '60 days'".replace("%(n)s", str(leads)),
        "confirmed_at": "now() - (g::float / %(n)s) * interval '60 days'".replace("%(n)s", str(leads)),
    })
    steps = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]
    row_cols, row_exprs, row_params = common.literal_columns(ScheduledEmail, {
        "lead_id": "l.id", "step": "s.step", "stream": "'marketing'", "key": "''",
        "send_at": "l.created_at + (s.k - 1) * interval '1 day'",
        # Rows due within the next two hours count as sent, so no row falls due by itself during the run.
        "status": "CASE WHEN l.created_at + (s.k - 1) * interval '1 day' < now() + interval '2 hours' "
                  "THEN 'sent' ELSE 'scheduled' END",
        "sent_at": "CASE WHEN l.created_at + (s.k - 1) * interval '1 day' < now() + interval '2 hours' "
                   "THEN l.created_at + (s.k - 1) * interval '1 day' END",
        "created_at": "l.created_at", "updated_at": "now()",
        "context": "'{}'::jsonb",
    })
    row_params = [json.dumps(p) if isinstance(p, dict) else p for p in row_params]
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}, public")
        cursor.execute(f"INSERT INTO leads_lead ({', '.join(lead_cols)}) SELECT {', '.join(lead_exprs)} "
                       f"FROM generate_series(1, {leads}) AS g", lead_params)
        cursor.execute(
            f"INSERT INTO emails_scheduledemail ({', '.join(row_cols)}) SELECT {', '.join(row_exprs)} "
            "FROM leads_lead l CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS s(step, k)",
            [*row_params, steps])
        # Exactly DUE rows due now: the latest rows (reminders of the newest leads), brought forward.
        cursor.execute(
            "UPDATE emails_scheduledemail SET send_at = now() - interval '1 minute', status = 'scheduled', "
            "sent_at = NULL WHERE id IN (SELECT id FROM emails_scheduledemail ORDER BY send_at DESC LIMIT %s)",
            [DUE])
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE emails_scheduledemail")
        cursor.execute("SET search_path TO public")


def make_schema(schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
        for table in ("leads_lead", "emails_scheduledemail"):
            # LIKE … INCLUDING ALL copies the indexes (partial ones too, under generated names) and constraints.
            cursor.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")


def use(schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}, public")


def claim_all_due(batch: int) -> tuple[float, int]:
    """Claim every due row in the dispatcher's batches; time it; put the rows back as they were."""
    from django.db import connection
    from django.utils import timezone

    from emails.dispatch import claim_batch

    now = timezone.now()
    claimed = 0
    started = time.perf_counter()
    while True:
        _, rows = claim_batch(now=now, size=batch)
        if not rows:
            break
        claimed += len(rows)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("UPDATE emails_scheduledemail SET status = 'scheduled', claimed_by = '', lease_until = NULL "
                       "WHERE status = 'sending'")
    return elapsed, claimed


def claim_plan(batch: int) -> str:
    from django.db import transaction
    from django.utils import timezone

    from emails.models import ScheduledEmail

    due = ScheduledEmail.objects.filter(status=ScheduledEmail.Status.SCHEDULED, send_at__lte=timezone.now())
    with transaction.atomic():
        return str(due.order_by("send_at", "pk").select_for_update(skip_locked=True)
                   .values_list("pk", flat=True)[:batch].explain(analyze=True))


def enrolment(n: int) -> tuple[float, float, int]:
    """Seconds for `n` sequence_enrol calls, and for the floor (one bulk_create per lead), and rows each made."""
    from django.db import connection, transaction
    from django.utils import timezone

    from emails.models import ScheduledEmail
    from emails.schedule import sequence_send_times
    from emails.services import sequence_enrol
    from leads.models import Lead

    use("public")
    with connection.cursor() as cursor:  # the claim benchmark is done with these rows; start from empty tables
        cursor.execute("TRUNCATE leads_lead, emails_scheduledemail CASCADE")
    leads = Lead.objects.bulk_create([Lead(email=f"e{i}@enrol.example", first_name=f"E{i}",
                                           status=Lead.Status.SUBSCRIBED, time_zone="Europe/Paris")
                                      for i in range(2 * n)], batch_size=2000)
    ours, floor = leads[:n], leads[n:]
    started = time.perf_counter()
    for lead in ours:
        sequence_enrol(lead=lead)
    ours_s = time.perf_counter() - started
    made = ScheduledEmail.objects.count()
    now = timezone.now()
    times = sequence_send_times(welcome_at=now, time_zone="Europe/Paris")
    started = time.perf_counter()
    for lead in floor:
        with transaction.atomic():
            ScheduledEmail.objects.bulk_create([ScheduledEmail(lead=lead, step=step, send_at=at, created_at=now)
                                                for step, at in times.items()])
    floor_s = time.perf_counter() - started
    return ours_s, floor_s, made


def main() -> None:
    big_leads = common.scaled(1_000_000, minimum=20_000)
    n_enrol = common.scaled(10_000, minimum=500)
    with common.bench_database(NAME):
        common.django_setup(NAME)
        from django.conf import settings

        batch = settings.DRIP_BATCH_SIZE
        make_schema("small")  # a copy of the empty tables; the big data goes in `public`, under the real names
        load_s, _ = common.timed(lambda: fill("small", SMALL_LEADS))
        load_s, _ = common.timed(lambda: fill("public", big_leads))
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM public.emails_scheduledemail")
            big_rows = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM small.emails_scheduledemail")
            small_rows = cursor.fetchone()[0]
        print(f"loaded {big_rows:,} rows for {big_leads:,} leads in {load_s:.0f} s", flush=True)
        small_t: list[float] = []
        big_t: list[float] = []
        for schema in ("small", "public"):  # warm-up: caches, connection, plan
            use(schema)
            claim_all_due(batch)
        for _ in range(max(common.runs(), 5)):
            for schema, into in (("small", small_t), ("public", big_t)):
                use(schema)
                elapsed, claimed = claim_all_due(batch)
                if claimed != DUE:
                    raise AssertionError(f"{schema}: claimed {claimed}, expected {DUE}")
                into.append(elapsed)
        use("public")
        plan = claim_plan(batch)
        print(plan, flush=True)
        enrol = [enrolment(n_enrol) for _ in range(common.runs())]
    ratios = [b / s for s, b in zip(small_t, big_t, strict=True)]
    common.emit({
        "bench": "schedule", "big_rows": big_rows, "small_rows": small_rows, "due": DUE, "batch_size": batch,
        "claim_small_ms": common.median(small_t) * 1000, "claim_big_ms": common.median(big_t) * 1000,
        "big_vs_small": common.median(ratios), "plan_uses_due_email_idx": "due_email_idx" in plan,
        "plan": plan, "load_seconds": load_s,
        "enrol_n": n_enrol, "enrol_rows_per_s": common.median([made / o for o, _, made in enrol]),
        "enrol_floor_rows_per_s": common.median([made / f for _, f, made in enrol]),
        "enrol_vs_floor": common.median([o / f for o, f, _ in enrol]),
    })


if __name__ == "__main__":
    main()

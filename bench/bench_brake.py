"""The sending brake's judgement among millions of sent marketing emails: bounded, not a scan.

    .venv/bin/python -m bench.bench_brake        (250,000 readers x 8 sent emails x BENCH_SCALE; BENCH_RUNS runs)

One throw-away database, filled in SQL with generate_series (the plain indexes built once the rows are in): every
reader's welcome and seven reminders sent (2,000,000 marketing rows), a spam complaint on 0.2 % of them and a hard
bounce on 1 %. What a dispatcher pays after each batch (emails/deliverability/brake.py: the latest engagement, then
the window of the last DELIVERABILITY_BRAKE_WINDOW sent) is timed warm against the same three figures over every
sent marketing email, which is what judging without the window's bound would cost. EXPLAIN ANALYZE shows the
judgement reads the partial index of sent marketing mail.
"""

from typing import Any

from bench import common

NAME = "brake"
STEPS = ["welcome", "day-1", "day-2", "day-3", "day-4", "day-5", "day-6", "day-7"]


def fill(readers: int) -> None:
    import json

    from django.db import connection

    from emails.models import EmailEvent, ScheduledEmail
    from leads.models import Lead

    lead_cols, lead_exprs, lead_params = common.literal_columns(Lead, {
        "email": "'r' || g || '@brake.example'", "first_name": "'Reader' || g", "status": "'subscribed'",
        "created_at": f"now() - (g::float / {readers}) * interval '60 days'"})
    row_cols, row_exprs, row_params = common.literal_columns(ScheduledEmail, {
        "lead_id": "l.id", "step": "s.step", "stream": "'marketing'", "key": "''", "status": "'sent'",
        "send_at": "l.created_at + (s.k - 1) * interval '1 day'",
        "sent_at": "l.created_at + (s.k - 1) * interval '1 day'", "esp_message_id": "'pm-' || l.id || '-' || s.k",
        "created_at": "l.created_at", "updated_at": "now()", "context": "'{}'::jsonb"})
    row_params = [json.dumps(p) if isinstance(p, dict) else p for p in row_params]
    event_cols, event_exprs, event_params = common.literal_columns(EmailEvent, {
        "event_id": "'ev-' || e.id", "scheduled_email_id": "e.id", "lead_id": "e.lead_id",
        "event_type": "CASE WHEN mod(e.id, 500) = 0 THEN 'complained' ELSE 'bounced' END",
        "bounce": "CASE WHEN mod(e.id, 500) = 0 THEN '' ELSE 'hard' END", "esp_message_id": "e.esp_message_id",
        "occurred_at": "e.sent_at", "received_at": "e.sent_at"})
    tables = ["leads_lead", "emails_scheduledemail", "emails_emailevent"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)", [tables])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f"INSERT INTO leads_lead ({', '.join(lead_cols)}) SELECT {', '.join(lead_exprs)} "
                       f"FROM generate_series(1, {readers}) AS g", lead_params)
        cursor.execute(f"INSERT INTO emails_scheduledemail ({', '.join(row_cols)}) SELECT {', '.join(row_exprs)} "
                       "FROM leads_lead l CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS s(step, k)",
                       [*row_params, STEPS])
        cursor.execute(f"INSERT INTO emails_emailevent ({', '.join(event_cols)}) SELECT {', '.join(event_exprs)} "
                       "FROM emails_scheduledemail e WHERE mod(e.id, 500) = 0 OR mod(e.id, 100) = 1", event_params)
        for _, definition in indexes:
            cursor.execute(definition)
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _unbounded() -> Any:
    """The same figures over every sent marketing email: the scan the window avoids."""
    from django.db.models import Count, Exists, OuterRef, Q

    from emails.models import EmailEvent, ScheduledEmail

    events = EmailEvent.objects.filter(scheduled_email=OuterRef("pk"))
    return ScheduledEmail.objects.filter(stream="marketing", sent_at__isnull=False).aggregate(
        sent=Count("pk"), complaints=Count("pk", filter=Q(Exists(events.filter(event_type="complained")))),
        hard_bounces=Count("pk", filter=Q(Exists(events.filter(bounce="hard")))))


def main() -> None:
    readers = common.scaled(250_000, minimum=5_000)
    with common.filled_database(NAME, lambda: fill(readers)) as load_s:
        from emails.deliverability.brake import brake_evaluate, brake_window, brake_window_rows
        from emails.models import ScheduledEmail

        rows = ScheduledEmail.objects.count()
        print(f"loaded {rows:,} sent marketing emails in {load_s:.0f} s", flush=True)
        brake_evaluate()  # warm-up: caches, plans
        _unbounded()
        judged: list[float] = []
        scanned: list[float] = []
        for _ in range(max(common.runs(), 5)):
            elapsed, engaged = common.timed(brake_evaluate)  # below the limits here: it judges, never engages
            assert engaged is None
            judged.append(elapsed)
            scanned.append(common.timed(_unbounded)[0])
        window = brake_window(since=None)
        plan = brake_window_rows(since=None).explain(analyze=True)
        print(plan, flush=True)
    common.emit({
        "bench": NAME, "rows": rows, "load_seconds": load_s, "window": window.sent,
        "window_complaints": window.complaints, "window_hard_bounces": window.hard_bounces,
        "judge_ms": common.median(judged) * 1000, "scan_ms": common.median(scanned) * 1000,
        "scan_vs_judge": common.median([s / j for s, j in zip(scanned, judged, strict=True)]),
        "plan_uses_sent_marketing_email_idx": "sent_marketing_email_idx" in plan, "plan": plan,
    })


if __name__ == "__main__":
    main()

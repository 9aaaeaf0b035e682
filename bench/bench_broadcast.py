"""A broadcast's rows: scheduling a broadcast to 100,000 recipients (target < 10 s).

    .venv/bin/python -m bench.bench_broadcast        (100,000 recipients x BENCH_SCALE; BENCH_RUNS runs)

One throw-away database holds 2 x N leads over 24 time zones (half of them buyers, so the segment "did not buy,
subscribed" finds N) and the week's 8 rows each, already sent (the outbox a broadcast joins is not empty). Each run
schedules a new broadcast to that segment through `broadcast_schedule` (count check, copy checks, the zones of the
audience, one INSERT … SELECT), once to go now and once at 09:00 on each reader's clock (a CASE over the zones),
and is timed whole. Baseline in the same run: the same rows made the plain ORM way (read the ids, bulk_create in
batches of 5,000). The report's query plan shows it reading the partial index `broadcast_email_idx`.
"""

import time
from datetime import timedelta

from bench import common

NAME = "broadcast"
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
         "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw", "Europe/Athens",
         "Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Bangkok",
         "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu",
         "America/Anchorage", "UTC"]


def fill(n: int) -> None:
    """2 x n leads (every other one a buyer) over ZONES, each with the week's 8 rows sent."""
    import json

    from django.db import connection

    from emails.models import SEQUENCE_STEPS, ScheduledEmail
    from leads.models import Lead

    zones = "ARRAY[" + ", ".join(f"'{zone}'" for zone in ZONES) + "]"
    lead_cols, lead_exprs, lead_params = common.literal_columns(Lead, {
        "email": "'r' || g || '@broadcast.example'", "first_name": "'Reader' || g", "status": "'subscribed'",
        "time_zone": f"({zones})[1 + g %% {len(ZONES)}]", "is_customer": "g %% 2 = 0",
        "customer_since": "CASE WHEN g %% 2 = 0 THEN now() END",
        "created_at": "now() - interval '30 days'", "confirmed_at": "now() - interval '30 days'",
    })
    row_cols, row_exprs, row_params = common.literal_columns(ScheduledEmail, {
        "lead_id": "l.id", "step": "s.step", "stream": "'marketing'", "key": "''", "status": "'sent'",
        "send_at": "l.created_at + s.k * interval '1 day'", "sent_at": "l.created_at + s.k * interval '1 day'",
        "created_at": "l.created_at", "updated_at": "now()", "context": "'{}'::jsonb",
    })
    row_params = [json.dumps(p) if isinstance(p, dict) else p for p in row_params]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO leads_lead ({', '.join(lead_cols)}) SELECT {', '.join(lead_exprs)} "
                       f"FROM generate_series(1, {2 * n}) AS g", lead_params)
        cursor.execute(f"INSERT INTO emails_scheduledemail ({', '.join(row_cols)}) SELECT {', '.join(row_exprs)} "
                       "FROM leads_lead l CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS s(step, k)",
                       [*row_params, SEQUENCE_STEPS])
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE emails_scheduledemail")


def schedule_once(segment: object, timing: str) -> tuple[float, int]:
    from django.utils import timezone

    from emails.broadcasts.models import Broadcast
    from emails.broadcasts.selectors import broadcast_audience
    from emails.broadcasts.services import SendTime, broadcast_create, broadcast_schedule
    from emails.content.models import EmailCopy
    from emails.content.services import copy_publish
    from emails.content.text import CopyText

    broadcast = broadcast_create(name=f"bench {timing} {time.monotonic()}", segment=segment)  # type: ignore[arg-type]
    copy_publish(step=broadcast.step, origin=EmailCopy.Origin.EDITOR, text=CopyText(
        subject="The price changes on Friday", preheader="", body="Hello{{ if first_name }}, {{ first_name }}{{ end }}."
        "\n\nThe price of the full guide changes on Friday.\n\n[Get it for $9.97](link:upgrade){.button}\n"))
    count = broadcast_audience(broadcast).count()  # what the send page shows before the press
    tomorrow = (timezone.now() + timedelta(days=2)).date()
    when = SendTime(timing=Broadcast.Timing.LOCAL, local_date=tomorrow, local_hour=9) \
        if timing == "local" else SendTime(timing=Broadcast.Timing.NOW)
    started = time.perf_counter()
    made = broadcast_schedule(broadcast=broadcast, when=when, confirmed_count=count)
    return time.perf_counter() - started, made


def orm_baseline(segment: object) -> tuple[float, int]:
    """The same rows the plain way: the audience's ids read into Python, bulk_create in batches."""
    from django.db import transaction
    from django.utils import timezone

    from emails.broadcasts.selectors import broadcast_audience
    from emails.broadcasts.services import broadcast_create
    from emails.models import ScheduledEmail

    broadcast = broadcast_create(name=f"bench orm {time.monotonic()}", segment=segment)  # type: ignore[arg-type]
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        ids = list(broadcast_audience(broadcast).values_list("pk", flat=True))
        ScheduledEmail.objects.bulk_create(
            [ScheduledEmail(lead_id=pk, step=broadcast.step, send_at=now, created_at=now) for pk in ids],
            batch_size=5000, ignore_conflicts=True)
    return time.perf_counter() - started, len(ids)


def report_plan(step: str) -> str:
    from emails.models import BROADCAST_STEP_PREFIX, ScheduledEmail

    return str(ScheduledEmail.objects.filter(step=step, step__startswith=BROADCAST_STEP_PREFIX)
               .values("step").order_by().explain(analyze=True))


def main() -> None:
    n = common.scaled(100_000, minimum=10_000)
    with common.filled_database(NAME, lambda: fill(n)) as load_s:
        from emails.broadcasts.models import Broadcast
        from emails.segments.services import segment_save

        print(f"loaded {2 * n:,} leads and {16 * n:,} rows in {load_s:.0f} s", flush=True)
        segment = segment_save(name="Did not buy", match="all", conditions=[
            {"kind": "purchase", "value": "not_bought"}, {"kind": "status", "value": "subscribed"}])
        now_s: list[float] = []
        local_s: list[float] = []
        orm_s: list[float] = []
        for _ in range(common.runs()):
            for timing, into in (("now", now_s), ("local", local_s)):
                seconds, made = schedule_once(segment, timing)
                if made != n:
                    raise AssertionError(f"{timing}: {made} rows, expected {n}")
                into.append(seconds)
            seconds, made = orm_baseline(segment)
            if made != n:
                raise AssertionError(f"orm: {made} rows, expected {n}")
            orm_s.append(seconds)
        last = Broadcast.objects.order_by("-pk").first()
        assert last is not None
        plan = report_plan(last.step)
        print(plan, flush=True)
    common.emit({
        "bench": NAME, "recipients": n, "leads": 2 * n, "zones": len(ZONES),
        "now_s": common.median(now_s), "local_s": common.median(local_s), "orm_s": common.median(orm_s),
        "local_vs_orm": common.median([a / b for a, b in zip(local_s, orm_s, strict=True)]),
        "plan_uses_broadcast_email_idx": "broadcast_email_idx" in plan, "plan": plan,
    })


if __name__ == "__main__":
    main()

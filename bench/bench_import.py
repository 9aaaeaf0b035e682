"""Importing a CSV file of 100,000 leads (target: under 60 s).

    .venv/bin/python -m bench.bench_import          (100,000 rows x BENCH_SCALE; BENCH_RUNS runs)

Each run imports a new file of N rows (new addresses each run, into the same database, so later runs check against
the leads of earlier ones): half with consent evidence (confirmed, a consent record each, two tags each), half
without (pending, a paced confirmation email each). Timed: the upload's checks (`lead_import_create`), the dry run
(every row against the leads we have) and the import itself (`import_run`, what the Celery task runs: chunks of
LEAD_IMPORT_CHUNK_ROWS, each one transaction with its cursor). Baseline in the same run: the floor, N bare leads
through Django's bulk_create (no checks, no consent, no tags, no emails, no report).
"""

import csv
import io
import time

from bench import common

NAME = "import"


def file_bytes(n: int, run: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "First name", "Time zone", "Tags", "Consent date", "Consent source", "Consent IP"])
    for i in range(n):
        consent = i % 2 == 0
        writer.writerow([f"reader{i}@run{run}.example.com", f"Reader{i}", "Europe/Berlin" if i % 3 else "",
                         "webinar-may,vip" if consent else "", "2025-03-01" if consent else "",
                         "webinar form" if consent else "", "203.0.113.7" if consent else ""])
    return out.getvalue().encode()


def import_once(n: int, run: int) -> dict[str, float]:
    from funnel.imports.services import import_run
    from leads.imports import services as imports
    from leads.imports.models import LeadImport

    data = file_bytes(n, run)
    started = time.perf_counter()
    lead_import = imports.lead_import_create(data=data, file_name=f"bench-{run}.csv", by="bench")
    uploaded = time.perf_counter()
    imports.lead_import_dry_run(lead_import=lead_import, mapping=lead_import.mapping, enrol=False)
    checked = time.perf_counter()
    lead_import.refresh_from_db()
    imports.lead_import_queue(lead_import=lead_import)
    import_run(import_id=lead_import.pk)
    done = time.perf_counter()
    lead_import = LeadImport.objects.get(pk=lead_import.pk)
    expected = {"confirmed": (n + 1) // 2, "pending": n // 2}
    if lead_import.counts != expected:
        raise AssertionError(f"run {run}: {lead_import.counts}, expected {expected}")
    return {"upload_s": uploaded - started, "dry_run_s": checked - uploaded, "import_s": done - checked,
            "total_s": done - started}


def floor_once(n: int, run: int) -> float:
    from leads.models import Lead

    started = time.perf_counter()
    Lead.objects.bulk_create([Lead(email=f"floor{i}@run{run}.example.com", first_name=f"Reader{i}")
                              for i in range(n)], batch_size=2000)
    return time.perf_counter() - started


def main() -> None:
    from django.conf import settings

    n = common.scaled(100_000, minimum=1_000)
    figures: dict[str, list[float]] = {"upload_s": [], "dry_run_s": [], "import_s": [], "total_s": []}
    floors: list[float] = []
    with common.filled_database(NAME, lambda: None):
        for run in range(common.runs()):
            result = import_once(n, run)
            for key, value in result.items():
                figures[key].append(value)
            floors.append(floor_once(n, run))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items())
                  + f", floor {floors[-1]:.1f} s", flush=True)
        chunk = settings.LEAD_IMPORT_CHUNK_ROWS
    total = figures["total_s"]
    common.emit({
        "bench": NAME, "rows": n, "chunk_rows": chunk,
        **{key: common.median(values) for key, values in figures.items()},
        "rows_per_s": n / common.median(figures["import_s"]),
        "floor_s": common.median(floors),
        "total_vs_floor": common.median([a / b for a, b in zip(total, floors, strict=True)]),
    })


if __name__ == "__main__":
    main()

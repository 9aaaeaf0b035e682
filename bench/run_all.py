"""`make bench`: every benchmark, each in its own process and its own throw-away database, then bench/RESULTS.md.

    .venv/bin/python -m bench.run_all               full sizes (N = 10,000 emails, 1,000,000 leads, ...)
    .venv/bin/python -m bench.run_all --quick       a tenth of the sizes (BENCH_SCALE=0.1): a few minutes
    .venv/bin/python -m bench.run_all --only send schedule

Environment: BENCH_SCALE (size multiplier, default 1.0), BENCH_RUNS (runs per figure, default 3; every figure is
the median of the runs, and every ratio is taken within one run, then the median), BENCH_DATABASE_URL (the
PostgreSQL server; default that of DATABASE_URL), BENCH_REDIS_URL (default db 14 of REDIS_URL's server; it is
flushed), BENCH_KEEP=1 keeps the databases.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import ROOT
from bench.machine import machine_info

BENCHES = {
    "send": "bench.bench_send",
    "schedule": "bench.bench_schedule",
    "web": "bench.bench_web",
    "dashboard": "bench.bench_admin",
    "esp": "bench.bench_esp",
    "broadcast": "bench.bench_broadcast",
    "segments": "bench.bench_segments",
    "crash": "bench.bench_crash",
    "import": "bench.bench_import",
    "brake": "bench.bench_brake",
}
RESULTS = ROOT / "bench" / "RESULTS.md"
RAW = ROOT / "bench" / "out" / "results.json"  # every benchmark's latest figures, so --only can merge


def run(module: str, env: dict[str, str]) -> dict[str, Any] | None:
    print(f"\n=== {module}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("BENCH-RESULT "):
            result = json.loads(line[len("BENCH-RESULT "):])
        else:
            print("  " + line.rstrip()[:300], flush=True)
    code = proc.wait()
    print(f"=== {module}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
    if result is not None:
        result["seconds"] = round(time.monotonic() - started)
        result["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        result["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result if code == 0 else None


def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = ["| Benchmark | Figure (median) | Baseline in the same run | Ratio | Target |", "|---|---|---|---|---|"]
    s = results.get("send")
    if s:
        rows.append(f"| Sending {_n(s['n'])} personalised emails, dispatcher + 1 Celery worker process | "
                    f"**{_n(s['emails_per_s'])} emails/s**, {s['queries_per_batch']} queries per batch of "
                    f"{s['batch_size']} | floor (render + MIME bytes, plain loop, no DB): "
                    f"{_n(s['floor_emails_per_s'])}/s "
                    f"| time {s['vs_floor']:.2f}x the floor | >= 1,000/s; <= 1.3x floor |")
        if "vs_post_office" in s:
            rows.append(f"| Sending, against django-post-office (queue + `send_queued`, same messages) | "
                        f"**{_n(s['emails_per_s'])} emails/s** | post_office: {_n(s['post_office_emails_per_s'])}/s | "
                        f"{s['vs_post_office']:.2f}x faster | faster (> 1x) |")
    rows += esp_rows(results.get("esp"))
    rows += crash_rows(results.get("crash"))
    c = results.get("schedule")
    if c:
        idx = "yes" if c["plan_uses_due_email_idx"] else "**NO**"
        rows.append(f"| Claim all {c['due']:,} due rows among {_n(c['big_rows'])} (batches of {c['batch_size']}) | "
                    f"**{c['claim_big_ms']:.0f} ms** (plan uses `due_email_idx`: {idx}) | the same among "
                    f"{_n(c['small_rows'])} rows: {c['claim_small_ms']:.0f} ms | {c['big_vs_small']:.2f}x | about 1x |")
        rows.append(f"| Enrolment of {_n(c['enrol_n'])} signups (`sequence_enrol`, a transaction each) | "
                    f"**{_n(c['enrol_rows_per_s'])} rows/s** | one bulk INSERT per signup: "
                    f"{_n(c['enrol_floor_rows_per_s'])} rows/s | time {c['enrol_vs_floor']:.2f}x the floor | |")
    w = results.get("web")
    if w:
        server = f"bin/web: {w['workers']} gthread workers x {w.get('threads', 1)} threads"
        rows.append(f"| Signup form POST (CSRF) under gunicorn ({server}), {w['concurrency']} "
                    f"clients | **{_n(w['signup_rps'])} signups/s** | trivial view GET /thanks/: "
                    f"{_n(w['trivial_rps'])}/s | {w['signup_vs_trivial']:.2f}x | 300/s |")
        rows.append(f"| Signup latency at a fixed {w['fixed_rate']:.0f}/s offered | **p50 {w['signup_p50_ms']:.0f} ms, "
                    f"p99 {w['signup_p99_ms']:.0f} ms** ({_n(w['signup_fixed_rps'])}/s served) | trivial view at "
                    f"the same rate: p50 {w['trivial_p50_ms']:.0f} ms, p99 {w['trivial_p99_ms']:.0f} ms | "
                    f"p99 {w['signup_p99_ms'] / max(w['trivial_p99_ms'], 0.001):.1f}x | p99 < 100 ms |")
        rows.append(f"| Signup latency at a fixed {w['low_rate']:.0f}/s offered | "
                    f"**p50 {w['signup_low_p50_ms']:.0f} ms, p99 {w['signup_low_p99_ms']:.0f} ms** | | | |")
        rows.append(f"| Stripe webhook ingest, {_n(w['webhook_deliveries'])} signed deliveries (half duplicates), "
                    f"{w['webhook_concurrency']} clients; then one worker fulfils each session once "
                    f"({_n(w['webhook_fulfil_per_s'])} sessions/s) | **{_n(w['webhook_dps'])} "
                    f"deliveries/s, p50 {w['webhook_p50_ms']:.0f} ms, p99 {w['webhook_p99_ms']:.0f} ms** | trivial "
                    f"view: {_n(w['trivial_rps'])}/s | {w['webhook_vs_trivial']:.2f}x | >= 1,000/s, p99 < 50 ms |")
        rows.append(f"| Stripe webhook, each of {w['storm_sessions']} events delivered {w['storm_copies']} times at "
                    f"once | **{_n(w['storm_dps'])} deliveries/s, p99 {w['storm_p99_ms']:.0f} ms**, one purchase "
                    f"per session | | | exactly one purchase |")
    d = results.get("dashboard")
    if d:
        for size in d.get("sizes", [d]):
            for page in size["pages"]:
                load = size.get("load_at_start", "?")
                rows.append(f"| Admin {page['page']}, {_n(size['leads'])} demo leads (load {load}) "
                            f"| **{page['median_ms']:.0f} ms**, {page['queries']} queries | admin index: "
                            f"{page['baseline_ms']:.0f} ms | {page['vs_baseline']:.1f}x | "
                            f"< {page['target_ms']:.0f} ms |")
            for period, panels in size.get("panels", {}).items():
                rows.append(f"| Dashboard panels, {period}, {_n(size['leads'])} leads (each alone, computed) | "
                            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in panels.items()) + " | | | |")
    b = results.get("broadcast")
    if b:
        idx = "yes" if b["plan_uses_broadcast_email_idx"] else "**NO**"
        rows.append(f"| Scheduling a broadcast to {_n(b['recipients'])} recipients among {_n(b['leads'])} leads "
                    "(`broadcast_schedule`: checks, the audience's zones, one INSERT … SELECT), at each reader's "
                    f"09:00 over {b['zones']} zones; sent now: {b['now_s']:.2f} s | **{b['local_s']:.2f} s** "
                    f"(report reads `broadcast_email_idx`: {idx}) | ids read into Python + bulk_create: "
                    f"{b['orm_s']:.2f} s | {b['local_vs_orm']:.2f}x | < 10 s |")
    k = results.get("brake")
    if k:
        idx = "yes" if k["plan_uses_sent_marketing_email_idx"] else "**NO**"
        rows.append(f"| Sending brake's judgement after a batch, among {_n(k['rows'])} sent marketing emails (the "
                    f"last {_n(k['window'])}: {k['window_complaints']} complaints, {k['window_hard_bounces']} hard "
                    f"bounces) | **{k['judge_ms']:.1f} ms** (reads `sent_marketing_email_idx`: {idx}) | the same "
                    f"figures over every sent email: {k['scan_ms']:.0f} ms | {k['scan_vs_judge']:.0f}x faster | "
                    "bounded: no scan |")
    g = results.get("segments")
    if g:
        for segment in g["segments"]:
            rows.append(f"| Segment count at {_n(g['leads'])} leads: {segment['words']} ({_n(segment['count'])} "
                        f"readers) | **{segment['median_ms']:.0f} ms** | `Lead.objects.count()`: "
                        f"{g['count_all_ms']:.0f} ms | {segment['vs_count_all']:.1f}x | < 1,000 ms"
                        f"{' (missed)' if segment['median_ms'] >= 1000 else ''} |")
    rows += import_rows(results.get("import"))
    return rows


def import_rows(i: dict[str, Any] | None) -> list[str]:
    """bench_import: a CSV file of N leads, half confirmed (consent, tags), half asked to confirm by email."""
    if not i:
        return []
    return [f"| Import of a CSV file of {_n(i['rows'])} leads (half with consent evidence and two tags, half sent a "
            f"paced confirmation email): checks {i['upload_s']:.1f} s + dry run {i['dry_run_s']:.1f} s + import "
            f"{i['import_s']:.1f} s (chunks of {_n(i['chunk_rows'])}) | **{i['total_s']:.1f} s** "
            f"({_n(i['rows_per_s'])} rows/s imported) | floor (bare `bulk_create` of the leads): {i['floor_s']:.1f} s "
            f"| {i['total_vs_floor']:.1f}x | < 60 s |"]


def esp_rows(e: dict[str, Any] | None) -> list[str]:
    """bench_esp: per delay of the fake Postmark, the batch figure against one request per email (before)."""
    if not e:
        return []
    ways = e["emails_per_s"]
    batch, batch_500 = ways["Postmark /email/batch"], ways["Postmark /email/batch, DRIP_BATCH_SIZE=500"]
    before, pooled = ways["one request per email (before)"], ways["8 requests in flight"]
    cpu = ways["no ESP: discarding backend (builds MIME)"]["0"]
    rows = []
    for delay in batch:
        target = ">= 1,000/s" if delay == "50" else ""
        rows.append(f"| Sending through anymail's Postmark backend, fake Postmark answering in {delay} ms, 1 worker "
                    f"process | **{_n(batch[delay])} emails/s** (`/email/batch`; {_n(batch_500[delay])}/s with "
                    f"DRIP_BATCH_SIZE=500); {_n(pooled[delay])}/s with 8 requests in flight | one request per "
                    f"email (before): {_n(before[delay], 1)}/s; no ESP (discarding backend, builds MIME): "
                    f"{_n(cpu)}/s | {batch[delay] / before[delay]:.0f}x before; {batch[delay] / cpu:.2f}x the "
                    f"discarding backend | "
                    f"{target} |")
    return rows


def crash_rows(k: dict[str, Any] | None) -> list[str]:
    """bench_crash: three workers, one SIGKILLed while handing a chunk over; what was lost or sent twice."""
    if not k:
        return []
    return [f"| {_n(k['rows'])} welcome emails due at once, {k['workers']} worker processes, one SIGKILLed while "
            f"handing a chunk over, {when} (the first request once {_n(r['killed_after_messages'])} messages were "
            f"taken; fake Postmark at "
            f"{k['delay_ms']} ms, lease {k['drip_lease_seconds']} s, lookup after {k['esp_lookup_after_seconds']} s)"
            f" | **{r['never_taken']} lost, {r['taken_twice']} sent twice**, {r['left_unsettled']} left unsettled; "
            f"all settled in {r['seconds']:.0f} s | not this run: before issue 19, 45-229 rows left `unknown` "
            f"| {r['unknown_peak']} rows "
            f"`unknown` at the peak, {r['resent']} resent | 0 lost, 0 sent twice |" for when, r in k["when"].items()]


def write_results(results: dict[str, dict[str, Any]], machine: dict[str, Any], args: argparse.Namespace,
                  failed: list[str]) -> None:
    lines = [
        "# Benchmark results", "",
        f"Written by `make bench` (`python -m bench.run_all{' --quick' if args.quick else ''}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. BENCH_SCALE={os.environ.get('BENCH_SCALE', '1.0')}, "
        f"BENCH_RUNS={os.environ.get('BENCH_RUNS', '3')}: every figure is the median of the runs; every ratio is "
        "taken against a baseline measured in the same run, then the median is reported.", "",
        "## Machine", "",
        *[f"- {k.replace('_', ' ')}: {v}" for k, v in machine.items()], "",
        "The machine is shared (other processes were running); absolute figures move with the load, the ratios less.",
        "", "## Results", "", *table(results), "",
    ]
    lines += ["Measured: " + "; ".join(f"{name} at {r.get('measured_at', '?')} in {r.get('seconds', '?')} s "
                                      f"(load after: {r.get('load_after', '?')})" for name, r in results.items()), ""]
    if failed:
        lines += [f"Failed or skipped: {', '.join(failed)} (see the console output of `make bench`).", ""]
    c = results.get("schedule")
    if c:
        lines += ["## The claim's query plan (among the big table)", "", "```", c["plan"], "```", ""]
    g = results.get("segments")
    if g:
        lines += ["## The example segment's query plan (did not buy, clicked in the last 14 days)", "", "```",
                  g["plan"], "```", ""]
    lines += ["## How each figure is made", "",
              "See the docstring at the top of each `bench/bench_*.py`; `bench/run_all.py` runs them all.", ""]
    RESULTS.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (BENCH_SCALE=0.1)")
    parser.add_argument("--only", nargs="*", choices=list(BENCHES), help="run only these")
    args = parser.parse_args()
    env = {**os.environ}
    if args.quick:
        env.setdefault("BENCH_SCALE", "0.1")
    os.environ.update(env)
    machine = machine_info()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), flush=True)
    results: dict[str, dict[str, Any]] = {}
    failed = []
    for name in args.only or list(BENCHES):
        result = run(BENCHES[name], env)
        if result is None:  # a shared machine: another job may have restarted a service under us; one retry
            result = run(BENCHES[name], env)
        if result is None:
            failed.append(name)
        else:
            results[name] = result
    merged = json.loads(RAW.read_text()) if RAW.exists() and args.only else {}
    merged.update(results)
    RAW.parent.mkdir(parents=True, exist_ok=True)
    RAW.write_text(json.dumps(merged, indent=1))
    results = merged
    write_results(results, machine, args, failed)
    print("\n" + "\n".join(table(results)))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()

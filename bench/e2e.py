"""End-to-end benchmark: generated CDRs landed, the whole pipeline run as `sentinel process` runs it, and
DuckDB alone on the same files as the reference measured in the same run.

    python -m bench.e2e                          # ~10M CDRs (one generated day)
    python -m bench.e2e --cdrs 1000000           # ~1M
    python -m bench.e2e --subscribers 400000     # a day of a 400,000-subscriber network (~11M CDRs)
    python -m bench.e2e --cdrs 100000000 --days 5 --daily   # ~100M, 5 days delivered and run day by day (~17 GB of CSV)
    python -m bench.e2e --light-week             # a small operator's week: 168 partitions, bookkeeping per partition
    make bench BENCH_ARGS="--cdrs 2000000"

The pipeline runs exactly as `sentinel process` runs it (the real landing sensor registers the files,
real Dagster runs in a PostgreSQL-backed instance); per-stage times come from Dagster's step
statistics. The reference is DuckDB alone with the same memory limit and threads: the same CSV files to
Parquet, then a per-caller GROUP BY (calls, distinct callees, average duration) over that Parquet — what
any pipeline on this engine must at least do. Generation is timed separately and counts for nothing.
This machine is shared: the load average before and after is printed, and ratios to the reference are
the figures to compare between runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.machine import load, machine

CDRS_PER_SUBSCRIBER_DAY = 28  # what the generator's default traffic yields (docs/generator.md)
BUDGET_CDRS_PER_SECOND = 500_000
BUDGET_SECONDS_PER_PARTITION = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=10_000_000, help="about how many CDRs in all")
    parser.add_argument("--subscribers", type=int, help="subscribers instead of --cdrs (one day is ~28 CDRs each)")
    parser.add_argument("--days", type=int, default=1, help="days of traffic (the CDRs are spread over them)")
    parser.add_argument("--light-week", action="store_true",
                        help="a small operator's week (168 hourly partitions, 1,500 subscribers)")
    parser.add_argument("--home", help="SENTINEL_HOME to use (default: a temporary directory, removed after)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--daily", action="store_true",
                        help="deliver the files a day at a time and process after each day (one run per day), "
                             "instead of landing everything and processing it in one run")
    parser.add_argument("--no-reference", action="store_true", help="skip the DuckDB-alone reference")
    args = parser.parse_args()

    days, subscribers = args.days, args.subscribers
    if args.light_week:
        days, subscribers = 7, 1_500
    if subscribers is None:
        subscribers = max(200, args.cdrs // (CDRS_PER_SUBSCRIBER_DAY * days))

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="snt-bench-"))
    os.environ["SENTINEL_HOME"] = str(home)
    for name in ("SENTINEL_LANDING_URL", "SENTINEL_LAKE_URL", "SENTINEL_LANDING_DIR", "SENTINEL_LAKE_DIR",
                 "DATABASE_URL", "DAGSTER_HOME"):
        os.environ.pop(name, None)
    os.environ.setdefault("SENTINEL_LANDING_SETTLE_SECONDS", "0")

    from sentinel_pipeline import database
    from sentinel_pipeline.cli.process import process_landing
    from sentinel_pipeline.generator import generate
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    print(f"machine: {machine()}; load average before: {load()}")
    print(f"DuckDB memory_limit {settings.duckdb_memory_limit}, threads {settings.duckdb_threads or 'all'}")
    print(f"generating {days} day(s) of {subscribers:,} subscribers into {settings.landing.root} ...")
    t = time.perf_counter()
    staging = home / "staging" if args.daily else settings.landing.root
    generated = generate(staging, start=start, hours=24 * days, subscribers=subscribers, seed=args.seed,
                         labels_path=home / "labels.csv")
    gen_s = time.perf_counter() - t
    n = generated.cdr_count
    files = sorted(str(p) for p in generated.files)
    print(f"generated {n:,} CDRs in {len(files)} files ({sum(map(os.path.getsize, files)) / 1e9:.2f} GB) in "
          f"{gen_s:.1f} s (not counted below)")

    reference = None if args.no_reference else duckdb_alone(settings, files, home / "reference")
    try:
        runs, total = [], 0.0
        for delivery in deliveries(files, settings.landing.root, daily=args.daily):
            summary = process_landing(settings)
            if summary.failed:
                raise SystemExit(f"pipeline run failed on {delivery}: {summary.failed}")
            runs += summary.runs
            total += summary.seconds
        stages, events, partitions = run_facts(runs)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with database.connect(settings) as conn:
            accepted, rejected = conn.execute(
                "select sum(rows_accepted), sum(rows_rejected) from sentinel.raw_partitions").fetchone()
            alerts = conn.execute("select count(*) from sentinel.alerts").fetchone()[0]
        report(n, total, stages, events, partitions, runs, reference, accepted, rejected, alerts, peak_mb,
               settings)
    finally:
        if database.uses_embedded(settings):
            database.stop_embedded(settings)
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)
    print(f"load average after: {load()}")


def deliveries(files: list[str], landing_dir: Path, daily: bool):
    """Yield once with every file landed or, with ``daily``, once per day after moving that day's files
    (named ``cdr_YYYYMMDDTHHMM_...``) into ``landing_dir``."""
    if not daily:
        yield "all files"
        return
    landing_dir.mkdir(parents=True, exist_ok=True)
    days: dict[str, list[str]] = {}
    for path in files:
        days.setdefault(Path(path).name.split("_")[1][:8], []).append(path)
    for day, paths in sorted(days.items()):
        for path in paths:
            os.replace(path, landing_dir / Path(path).name)
        yield f"day {day}"


def duckdb_alone(settings, files: list[str], out: Path) -> dict[str, float]:
    """The reference: DuckDB with the pipeline's limits turns the CSV files into Parquet, then counts per
    caller. Seconds of each step."""
    from sentinel_pipeline import duck
    from sentinel_pipeline.duck import literal

    out.mkdir(parents=True, exist_ok=True)
    with duck.connect(settings) as con:
        t = time.perf_counter()
        con.execute(f"copy (select * from read_csv({literal(files)})) to {literal(out / 'cdrs.parquet')} "
                    "(format parquet, compression zstd)")
        copy_s = time.perf_counter() - t
        t = time.perf_counter()
        con.execute(f"select a_number, count(*), count(distinct b_number), avg(duration_s) "
                    f"from read_parquet({literal(out / 'cdrs.parquet')}) group by a_number").fetchall()
        group_s = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    return {"CSV -> Parquet": copy_s, "per-caller GROUP BY": group_s}


def run_facts(run_ids: list[str]) -> tuple[dict[str, float], int, int]:
    """Seconds in each step (summed over runs), Dagster events written, and the distinct hourly partitions
    the runs materialised."""
    import dagster as dg

    stages: dict[str, float] = {}
    events = 0
    partitions: set[str] = set()
    with dg.DagsterInstance.get() as instance:
        for run_id in run_ids:
            for stat in instance.get_run_step_stats(run_id):
                if stat.start_time and stat.end_time:
                    stages[stat.step_key] = stages.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
            records = instance.get_records_for_run(run_id, limit=1_000_000).records
            events += len(records)
            partitions |= {r.event_log_entry.dagster_event.partition for r in records
                           if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.partition}
    return stages, events, len(partitions)


def report(n, total, stages, events, partitions, runs, reference, accepted, rejected, alerts, peak_mb, settings):
    print()
    print(f"{'stage (asset or asset check)':<58} {'seconds':>8} {'CDRs/s':>12}")
    rows = [("registration + Dagster bookkeeping (outside the steps)", total - sum(stages.values())),
            *sorted(stages.items(), key=lambda kv: -kv[1]), ("end to end", total)]
    for name, seconds in rows:
        print(f"{name:<58} {seconds:>8.1f} {n / seconds if seconds > 0.05 else 0:>12,.0f}")
    print()
    print(f"CDRs: {n:,} generated, {accepted:,} accepted, {rejected:,} rejected; alerts: {alerts:,}")
    print(f"runs: {len(runs)}; hourly partitions: {partitions}; Dagster events: {events:,} "
          f"({events / max(partitions, 1):.1f} per partition); {total / max(partitions, 1):.2f} s per partition")
    print(f"peak memory of the pipeline process: {peak_mb:,.0f} MB (DuckDB memory_limit {settings.duckdb_memory_limit})")
    if reference:
        ref = sum(reference.values())
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in reference.items())
        print(f"DuckDB alone on the same files: {ref:.1f} s ({parts}); {n / ref:,.0f} CDRs/s; "
              f"pipeline / DuckDB alone = {total / ref:.2f}x")
    rate = n / total
    print(f"budget >= {BUDGET_CDRS_PER_SECOND:,} CDRs/s end to end: {'met' if rate >= BUDGET_CDRS_PER_SECOND else 'MISSED'} "
          f"({rate:,.0f}/s, {rate / BUDGET_CDRS_PER_SECOND:.0%} of budget)")
    if partitions:
        per = total / partitions
        print(f"budget <= {BUDGET_SECONDS_PER_PARTITION} s per hourly partition: "
              f"{'met' if per <= BUDGET_SECONDS_PER_PARTITION else 'MISSED'} ({per:.2f} s)")


if __name__ == "__main__":
    main()

"""End-to-end benchmark: generate N CDRs, land them, run the pipeline, print CDRs/s and peak memory.

    python -m bench.e2e                 # 10M CDRs (one day), embedded PostgreSQL, temp SENTINEL_HOME
    python -m bench.e2e --cdrs 1000000  # smaller
    make bench BENCH_ARGS="--cdrs 2000000"

The pipeline runs exactly as `sentinel process` runs it (real sensor evaluation, real Dagster runs
recorded in a PostgreSQL-backed instance); per-stage times come from Dagster's step statistics.
Generation is timed separately and is not part of the pipeline figure.
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

from bench.machine import machine

CDRS_PER_SUBSCRIBER_DAY = 28  # what the generator's default traffic yields (docs/generator.md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=10_000_000, help="about how many CDRs (one day of traffic)")
    parser.add_argument("--home", help="SENTINEL_HOME to use (default: a temporary directory, removed after)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="sentinel-bench-"))
    os.environ["SENTINEL_HOME"] = str(home)
    for name in ("SENTINEL_LANDING_DIR", "SENTINEL_LAKE_DIR"):
        os.environ.pop(name, None)
    os.environ.setdefault("SENTINEL_LANDING_SETTLE_SECONDS", "0")

    from sentinel_pipeline import database
    from sentinel_pipeline.cli.process import process_landing
    from sentinel_pipeline.generator import generate
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    subscribers = max(200, args.cdrs // CDRS_PER_SUBSCRIBER_DAY)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    print(f"machine: {machine()}")
    print(f"generating ~{args.cdrs:,} CDRs ({subscribers:,} subscribers, 24 h) into {settings.landing_dir} ...")
    t = time.perf_counter()
    generated = generate(
        settings.landing_dir, start=start, hours=24, subscribers=subscribers, seed=args.seed,
        labels_path=home / "labels.csv",
    )
    gen_s = time.perf_counter() - t
    n = generated.cdr_count
    print(f"generated {n:,} CDRs in {len(generated.files)} files in {gen_s:.1f} s ({n / gen_s:,.0f}/s, not counted below)")

    try:
        summary = process_landing(settings)
        if summary.failed:
            raise SystemExit(f"pipeline run failed: {summary.failed}")
        stages = step_seconds(summary.runs)
        total = summary.seconds
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with database.connect(settings) as conn:
            accepted, rejected = conn.execute(
                "select sum(rows_accepted), sum(rows_rejected) from sentinel.raw_partitions"
            ).fetchone()
            alerts = conn.execute("select count(*) from sentinel.alerts").fetchone()[0]

        print()
        print(f"{'stage (asset or asset check)':<56} {'seconds':>8} {'CDRs/s':>12}")
        registration = total - sum(stages.values())
        rows = [("sensor + Dagster", registration), *stages.items(), ("end to end", total)]
        for name, seconds in rows:
            print(f"{name:<56} {seconds:>8.1f} {n / seconds if seconds else 0:>12,.0f}")
        print()
        print(f"CDRs: {n:,} generated, {accepted:,} accepted, {rejected:,} rejected; alerts: {alerts:,}")
        print(f"runs: {len(summary.runs)}; peak memory of the pipeline process: {peak_mb:,.0f} MB "
              f"(DuckDB memory_limit {settings.duckdb_memory_limit})")
        print(f"budget: >= 500,000 CDRs/s end to end -> {'met' if n / total >= 500_000 else 'MISSED'} "
              f"({n / total:,.0f}/s, {n / total / 500_000:.0%} of budget)")
    finally:
        if database.uses_embedded(settings):
            database.stop_embedded(settings)
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)


def step_seconds(run_ids: list[str]) -> dict[str, float]:
    """Seconds spent in each asset's step, summed over the runs."""
    import dagster as dg

    totals: dict[str, float] = {}
    with dg.DagsterInstance.get() as instance:
        for run_id in run_ids:
            for stat in instance.get_run_step_stats(run_id):
                if stat.start_time and stat.end_time:
                    totals[stat.step_key] = totals.get(stat.step_key, 0.0) + stat.end_time - stat.start_time
    return totals


if __name__ == "__main__":
    main()

"""Scaling benchmark: one generated day through the whole pipeline as runs side by side, with the lake and the
landing zone on local disk and in buckets of a real S3 server (SeaweedFS ``weed mini``, as the tests start it).

    python -m bench.scale                        # ~1M CDRs; 1, 2 and 4 runs at once; local and S3
    python -m bench.scale --cdrs 3000000 --concurrency 1 2 --storage s3
    python -m bench.scale --multiprocess         # and one run with a process per step (SENTINEL_EXECUTOR)

Every case starts from an empty lake, landing zone and database, and runs ``sentinel process`` (the real
landing sensor's registration, real Dagster runs) with ``SENTINEL_RUN_MAX_HOURS`` hours per run: the day
and the 23 hours after it (whose windows include it) split into the same runs in every case, at most
``SENTINEL_MAX_CONCURRENT_RUNS`` (1, 2, 4) at once. A first case runs everything as one run, the baseline
of the split's own cost; with ``--multiprocess`` a second one executes each step in a process of its own
(``SENTINEL_EXECUTOR=multiprocess``: the detectors side by side). Printed per case: seconds, CDRs/s, speed-up and efficiency per run against the
split run one at a time, the lake's size, and the bytes moved over the loopback interface (S3 requests and
responses both ways: GETs of landing files and lake objects, PUTs of lake objects; the embedded PostgreSQL
talks over a Unix socket, so a local case moves next to nothing). Delivering the files counts for nothing.
This machine is shared: the load average before and after is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

from bench.machine import load, machine

CDRS_PER_SUBSCRIBER_DAY = 28  # what the generator's default traffic yields (docs/generator.md)


def loopback_bytes() -> int:
    """Bytes received on the loopback interface so far (on ``lo`` every byte sent is received)."""
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == "lo":
            return int(counters.split()[0])
    return 0


def tree_bytes(loc) -> int:
    return sum(e.size for e in loc.list())


def run_case(label: str, generated: Path, work: Path, admin_url: str, env: dict[str, str]):
    """One case in a fresh home and database; returns (seconds, runs, lake bytes, bytes moved)."""
    import psycopg

    from sentinel_pipeline import database
    from sentinel_pipeline.cli.process import process_landing
    from sentinel_pipeline.settings import Settings

    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"create database {name}")
    home = work / name
    os.environ.update(env, SENTINEL_HOME=str(home), DATABASE_URL=database.url_with_database(admin_url, name))
    settings = Settings.from_env()
    for path in sorted(generated.iterdir()):  # delivery, not timed
        settings.landing.write_bytes(path.name, path.read_bytes())
    moved = loopback_bytes()
    started = time.perf_counter()
    summary = process_landing(settings)
    seconds = time.perf_counter() - started
    moved = loopback_bytes() - moved
    if summary.failed:
        raise SystemExit(f"{label}: runs failed: {summary.failed}")
    lake = tree_bytes(settings.lake)
    shutil.rmtree(home, ignore_errors=True)
    return seconds, len(summary.runs), lake, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000, help="about how many CDRs (one day)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--hours-per-run", type=int, default=12, help="SENTINEL_RUN_MAX_HOURS of the split")
    parser.add_argument("--storage", nargs="+", choices=["local", "s3"], default=["local", "s3"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--multiprocess", action="store_true",
                        help="add a case: one run with SENTINEL_EXECUTOR=multiprocess (a process per step)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="snt-scale-"))
    for name in ("SENTINEL_LANDING_URL", "SENTINEL_LAKE_URL", "SENTINEL_LANDING_DIR", "SENTINEL_LAKE_DIR",
                 "DATABASE_URL", "DAGSTER_HOME"):
        os.environ.pop(name, None)
    os.environ["SENTINEL_LANDING_SETTLE_SECONDS"] = "0"

    from bench.storage import s3_bucket
    from sentinel_pipeline import database
    from sentinel_pipeline.generator import generate
    from sentinel_pipeline.settings import Settings

    print(f"machine: {machine()}; load average before: {load()}")
    subscribers = max(200, args.cdrs // CDRS_PER_SUBSCRIBER_DAY)
    generated = generate(work / "generated", start=datetime(2026, 11, 1, tzinfo=timezone.utc), hours=24,
                         subscribers=subscribers, seed=args.seed, labels_path=work / "labels.csv")
    n = generated.cdr_count
    size = sum(p.stat().st_size for p in (work / "generated").iterdir())
    print(f"generated {n:,} CDRs, {size / 1e6:.0f} MB of CSV; runs of {args.hours_per_run} hours "
          f"(the day and the 23 hours after it)\n")
    pg = Settings(home=work / "pg")
    admin_url = database.start_embedded(pg)
    try:
        print(f"{'storage':<7} {'runs at once':>12} {'runs':>5} {'seconds':>8} {'CDRs/s':>10} {'speed-up':>9} "
              f"{'per run':>8} {'lake MB':>8} {'moved MB':>9}")
        for storage in args.storage:
            context = s3_bucket(None) if storage == "s3" else nullcontext((None, None))
            with context as (bucket, _server):
                def urls(case: str) -> dict[str, str]:
                    if storage == "local":
                        return {"SENTINEL_LANDING_URL": str(work / case / "landing"),
                                "SENTINEL_LAKE_URL": str(work / case / "lake")}
                    return {"SENTINEL_LANDING_URL": f"s3://{bucket}/{case}/landing",
                            "SENTINEL_LAKE_URL": f"s3://{bucket}/{case}/lake"}

                cases = [("one run", 0, 1, "in_process")]
                cases += [("one run", 0, 1, "multiprocess")] if args.multiprocess else []
                cases += [(f"{c} at once", args.hours_per_run, c, "in_process") for c in args.concurrency]
                serial = None
                for label, hours, at_once, executor in cases:
                    case = uuid.uuid4().hex[:8]
                    env = {**urls(case), "SENTINEL_RUN_MAX_HOURS": str(hours),
                           "SENTINEL_MAX_CONCURRENT_RUNS": str(at_once), "SENTINEL_EXECUTOR": executor}
                    seconds, runs, lake, moved = run_case(label, work / "generated", work, admin_url, env)
                    if hours and at_once == 1:
                        serial = seconds
                    speedup = serial / seconds if serial and hours else float("nan")
                    shown = str(at_once) if hours else "1 (whole)" if executor == "in_process" else "1 (whole, mp)"
                    print(f"{storage:<7} {shown:>12} {runs:>5} {seconds:>8.1f} {n / seconds:>10,.0f} "
                          f"{speedup:>8.2f}x {speedup / at_once:>8.0%} {lake / 1e6:>8.1f} {moved / 1e6:>9.1f}")
    finally:
        database.stop_embedded(pg)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()

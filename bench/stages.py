"""Each stage of the pipeline on its own, over the lake of a home that ``bench.e2e --home DIR`` kept: where
the time of a run goes, stage by stage, without Dagster around it.

    python -m bench.e2e --cdrs 10000000 --home /tmp/bench10m     # once: generate, run, keep the home
    python -m bench.stages --home /tmp/bench10m                   # raw_cdrs, caller_features, every detector
    python -m bench.stages --home /tmp/bench10m --only simbox_profile impossible_concurrency

Each stage runs over every partition hour the home holds, as one run of the pipeline would, and writes
what it writes in a run (the lake, sentinel.detections). raw_cdrs prints its steps (read, numbers, type,
duplicates, write).
"""

from __future__ import annotations

import argparse
import os
import time

from bench.machine import load, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a SENTINEL_HOME that bench.e2e --home kept")
    parser.add_argument("--only", nargs="*", help="stages to run (raw_cdrs, caller_features, detector names)")
    args = parser.parse_args()
    os.environ["SENTINEL_HOME"] = args.home
    for name in ("SENTINEL_LANDING_URL", "SENTINEL_LAKE_URL", "SENTINEL_LANDING_DIR", "SENTINEL_LAKE_DIR",
                 "DATABASE_URL", "DAGSTER_HOME"):
        os.environ.pop(name, None)

    from sentinel_pipeline import database, features, ingest, lake
    from sentinel_pipeline.detectors import REGISTRY, by_name
    from sentinel_pipeline.detectors.run import run_detector
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    print(f"machine: {machine()}; load average before: {load()}")
    stages = ["raw_cdrs", "caller_features", *(spec.name for spec in REGISTRY)]
    chosen = args.only or stages
    database.start_embedded(settings)
    try:
        with database.connect(settings) as conn:
            hours = [h for (h,) in conn.execute("select hour from sentinel.raw_partitions order by 1").fetchall()]
            rows = int(conn.execute("select coalesce(sum(rows_accepted), 0) from sentinel.raw_partitions").fetchone()[0])
            print(f"{rows:,} CDRs in {len(hours)} partition hours\n")
            print(f"{'stage':<28} {'seconds':>8} {'CDRs/s':>12}")
            for name in [s for s in stages if s in chosen]:
                started = time.perf_counter()
                detail = ""
                if name == "raw_cdrs":
                    for entry in settings.lake.list(f"{ingest.ASSET}/"):  # unchanged hours would be skipped
                        settings.lake.delete(entry.key)
                    summary = ingest.build_raw_hours(settings, conn, hours)
                    detail = ", ".join(f"{k} {v:.1f}" for k, v in summary.stages.items())
                elif name == "caller_features":
                    features.build_feature_hours(settings, hours)
                else:
                    spec = by_name(name)
                    run_detector(settings, conn, spec, spec.default_params, hours, run_id=None)
                seconds = time.perf_counter() - started
                print(f"{name:<28} {seconds:>8.1f} {rows / seconds:>12,.0f}  {detail}", flush=True)
            assert lake.existing_keys(settings.lake, ingest.ASSET, hours), "no raw_cdrs lake"
    finally:
        database.stop_embedded(settings)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()

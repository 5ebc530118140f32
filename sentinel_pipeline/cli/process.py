"""`sentinel process` as a library: what the landing sensor and the daemon do, once, in this process.

``process_landing`` evaluates the landing sensor until it has nothing left to request and executes each
run it requests with ``execute_in_process``, recorded in the Dagster instance like any other run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from sentinel_pipeline import database, migrations
from sentinel_pipeline.settings import Settings


def ensure_database(settings: Settings) -> None:
    """Start the embedded server when no DATABASE_URL is set, and apply migrations."""
    if database.uses_embedded(settings):
        database.start_embedded(settings)
    migrations.migrate(settings)


@dataclass
class ProcessSummary:
    runs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def process_landing(settings: Settings, *, wait_seconds: float | None = None, echo=print) -> ProcessSummary:
    """Evaluate the landing sensor until it has nothing left to request, executing each run it requests.

    Files still being written are waited for (up to ``wait_seconds``, default twice the settle time).
    """
    database.prepare_environment(settings)
    ensure_database(settings)
    import dagster as dg

    from resources import SentinelResource
    from sensors.landing import PIPELINE_JOB, evaluate
    from sentinel_pipeline.definitions import build_definitions

    started = time.perf_counter()
    wait_seconds = 2 * settings.landing_settle_seconds + 1 if wait_seconds is None else wait_seconds
    job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
    resource = SentinelResource.from_settings(settings)
    summary = ProcessSummary()
    cursor = None
    waited = 0.0
    with dg.DagsterInstance.get() as instance:
        while True:
            # Register everything that is ready (several bounded ticks), then run the merged ranges:
            # one run per range instead of one per tick's worth of files.
            requests = []
            while True:
                result = evaluate(settings, resource, cursor, log=None)
                cursor = result.cursor
                if not result.run_requests:
                    break
                requests += result.run_requests
            for start_key, end_key, run_key in merge_ranges(requests):
                tags = {
                    "dagster/asset_partition_range_start": start_key,
                    "dagster/asset_partition_range_end": end_key,
                    "dagster/run_key": run_key,
                    "sentinel/trigger": "sentinel process",
                }
                echo(f"run {start_key} .. {end_key} ...")
                run = job.execute_in_process(
                    instance=instance,
                    tags=tags,
                    # Dagster's console logger prints every event at DEBUG; follow LOG_LEVEL instead.
                    run_config={"loggers": {"console": {"config": {"log_level": settings.log_level}}}},
                    raise_on_error=False,
                )
                (summary.runs if run.success else summary.failed).append(run.run_id)
                echo(f"run {start_key} .. {end_key}: {'succeeded' if run.success else 'FAILED'} ({run.run_id})")
            waiting = json.loads(cursor).get("waiting", {})
            if requests:
                continue
            if not waiting or waited >= wait_seconds:
                break
            time.sleep(1)
            waited += 1
    summary.seconds = time.perf_counter() - started
    return summary


def merge_ranges(requests) -> list[tuple[str, str, str]]:
    """(start key, end key, run key) per group of overlapping partition ranges of ``requests``.

    Hourly partition keys ("2026-11-26-13:00") sort in time order as text.
    """
    spans = sorted(
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"], r.run_key)
        for r in requests
    )
    merged: list[list] = []
    for start, end, key in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(key)
        else:
            merged.append([start, end, [key]])
    return [(start, end, "+".join(keys)) for start, end, keys in merged]

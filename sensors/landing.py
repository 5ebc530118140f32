"""landing_files: turns CDR files landing in SENTINEL_LANDING_DIR into pipeline runs.

Each tick registers the new, stable files (see ``sentinel_pipeline.landing`` for the delivery
convention), then requests one run per contiguous range of affected hours. The registry in PostgreSQL
is the memory of which files were taken, so restarts neither lose nor repeat a file; the cursor only
holds files still being written.
"""


import hashlib
import json
from datetime import datetime

import dagster as dg

from assets.partitions import hourly_partitions, partition_key_for
from resources import SETTINGS, SentinelResource
from sentinel_pipeline import landing
from sentinel_pipeline.settings import Settings

PIPELINE_JOB = "cdr_pipeline"

cdr_pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.all(),
    description="raw_cdrs -> caller_features -> detectors -> alerts, for a range of hours in one run.",
    tags={"sentinel/pipeline": "cdr"},
)


def run_requests_for(hours: set[datetime], settings: Settings, reason: str, log=None) -> list[dg.RunRequest]:
    """One single-run request per contiguous range of ``hours``, extended over the following hours
    whose trailing windows include them (up to the current hour), so that every partition reading the
    new data is rebuilt in the same run. Hours outside the partitions are left out (and logged)."""
    first = hourly_partitions.start
    last = hourly_partitions.get_last_partition_window().start
    inside = {h for h in hours if first <= h <= last}
    if log and inside != hours:
        log.warning(f"{len(hours - inside)} hours fall outside the partitions ({first} .. {last}); skipped")
    requests = []
    for start, end in landing.run_ranges(inside, settings.longest_window_hours - 1, last):
        start_key, end_key = partition_key_for(start), partition_key_for(end)
        requests.append(
            dg.RunRequest(
                run_key=f"{start_key}..{end_key}:{reason}",
                tags={
                    "dagster/asset_partition_range_start": start_key,
                    "dagster/asset_partition_range_end": end_key,
                },
            )
        )
    return requests


def evaluate(settings: Settings, sentinel: SentinelResource, cursor: str | None, log=None) -> dg.SensorResult:
    state = json.loads(cursor) if cursor else {}
    with sentinel.postgres() as conn:
        outcome = landing.register_landed_files(settings, conn, state.get("waiting", {}))
    for f, reason in outcome.quarantined:
        (log.warning if log else print)(f"quarantined {f.path}: {reason}")
    for path, columns in outcome.extra_columns.items():
        (log.info if log else print)(f"{path}: ignored columns not in its layout: {', '.join(columns)}")
    identities = sorted(f.identity for f, _, _ in outcome.registered) + sorted(f.identity for f, _ in outcome.quarantined)
    reason = hashlib.sha1(json.dumps(identities).encode()).hexdigest()[:16]
    requests = run_requests_for(outcome.hours, settings, reason, log)
    new_cursor = json.dumps({"waiting": outcome.waiting})
    if not requests:
        waiting = f"; {len(outcome.waiting)} files still being written" if outcome.waiting else ""
        return dg.SensorResult(skip_reason=f"no new CDR files{waiting}", cursor=new_cursor)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)


@dg.sensor(
    job=cdr_pipeline_job,
    minimum_interval_seconds=SETTINGS.sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_files(context: dg.SensorEvaluationContext, sentinel: SentinelResource) -> dg.SensorResult:
    """Registers new CDR files in the landing directory and requests runs for the hours they touch."""
    return evaluate(sentinel.settings(), sentinel, context.cursor, context.log)

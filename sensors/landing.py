"""landing_files: turns CDR files landing in SENTINEL_LANDING_URL into pipeline runs.

Each tick registers the new, stable files (see ``sentinel_pipeline.landing`` for the delivery
convention), then asks the state what is still to do (``sentinel_pipeline.work.pending_hours``: registered
hours whose partitions are missing or out of date, and the hours whose windows include them) and requests
one run per contiguous range of pending hours, split into runs of at most ``SENTINEL_RUN_MAX_HOURS`` that
the run queue executes side by side (``SENTINEL_MAX_CONCURRENT_RUNS``). Nothing depends on the tick that
registered a file: a tick that failed half-way, a run that failed, a process killed mid-run all leave
pending hours that the next tick requests again. A range overlapping a run still queued or running waits for it; a range whose runs
keep failing is retried with back-off, ``SENTINEL_WORK_MAX_ATTEMPTS`` times, then left to a person (the
tick says so). The cursor only holds files still being written.
"""


import hashlib
import json
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg
import psutil

from assets.checks import FRESHNESS_CHECKS
from assets.partitions import IN_PROGRESS, hourly_partitions, partition_key_for
from resources import SETTINGS, SentinelResource
from sentinel_pipeline import landing, work
from sentinel_pipeline.settings import Settings

PIPELINE_JOB = "cdr_pipeline"
WORK_TAG = "sentinel/work"
ENDED_BADLY = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

cdr_pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    # Every asset and check but the freshness check, which its own sensor evaluates against the clock.
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*FRESHNESS_CHECKS),
    description="raw_cdrs -> caller_features -> detectors -> alerts, for a range of hours in one run.",
    tags={"sentinel/pipeline": "cdr"},
)


def busy_ranges(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """The partition-key ranges of every run queued or running, whoever started it."""
    ranges = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        tags = run.tags
        if RANGE_START in tags:
            ranges.append((tags[RANGE_START], tags[RANGE_END]))
        elif "dagster/partition" in tags:
            ranges.append((tags["dagster/partition"], tags["dagster/partition"]))
    return ranges


def _worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The pid of the process executing the run's steps (the in-process executor logs it first)."""
    if "sentinel/pid" in run.tags:
        return int(run.tags["sentinel/pid"])
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        pid = entry.dagster_event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    return None


def fail_abandoned_runs(instance: dg.DagsterInstance, log) -> list[str]:
    """Mark failed every run left STARTED by a process of this machine that no longer exists (killed,
    OOM, power loss), so that it stops blocking its hours and they are requested again. Runs of other
    machines (Kubernetes run pods) are run monitoring's job (k8s/values.yaml). Returns their run ids."""
    local = isinstance(instance.run_launcher, dg.DefaultRunLauncher)
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        if not (local or run.tags.get("sentinel/host") == socket.gethostname()):
            continue
        pid = _worker_pid(instance, run)
        record = instance.get_run_record_by_id(run.run_id)
        if pid is None or record is None or record.start_time is None:
            continue
        try:
            alive = psutil.Process(pid).create_time() <= record.start_time + 1
        except psutil.NoSuchProcess:
            alive = False
        if not alive:
            message = f"the process that ran it (pid {pid} on {socket.gethostname()}) is gone: killed or crashed"
            instance.report_run_failed(run, message=message)
            log.warning(f"run {run.run_id}: {message}; marked failed, its hours will be requested again")
            failed.append(run.run_id)
    return failed


@dataclass
class WorkPlan:
    """What a tick decided about each range of pending hours."""

    requests: list[dg.RunRequest] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # a run over its hours is queued or running
    backing_off: list[str] = field(default_factory=list)  # its last attempt failed a moment ago
    given_up: list[str] = field(default_factory=list)  # SENTINEL_WORK_MAX_ATTEMPTS attempts failed


def plan_work(pending: dict[datetime, str], settings: Settings, instance: dg.DagsterInstance, log, *,
              now: float | None = None, back_off: bool = True, retry_given_up: bool = False) -> WorkPlan:
    """One run request per contiguous range of ``pending`` hours (hour -> expected window fingerprint), a
    longer range split into runs of ``SENTINEL_RUN_MAX_HOURS`` that can go side by side, unless a run over any of its hours is in progress, or its last attempt failed too recently
    (``back_off``) or too often (unless ``retry_given_up``).

    A range's work id is a digest of its hours and their expected inputs: the same state gives the same
    id (never requested twice while a run for it is queued or running), and new data gives a new one."""
    now = time.time() if now is None else now
    first = hourly_partitions.start
    outside = [h for h in pending if h < first]
    if outside:
        log.warning(f"{len(outside)} pending hours fall before the first partition ({first}); skipped")
    busy = busy_ranges(instance)
    plan = WorkPlan()
    for start, end in work.contiguous_ranges([h for h in pending if h >= first], settings.run_max_hours):
        start_key, end_key = partition_key_for(start), partition_key_for(end)
        label = f"{start_key}..{end_key}"
        if any(a <= end_key and start_key <= b for a, b in busy):
            plan.busy.append(label)
            log.info(f"{label}: waiting for a run over these hours to finish")
            continue
        hours = sorted(h for h in pending if start <= h <= end)
        work_id = hashlib.sha1(json.dumps([[h.isoformat(), pending[h]] for h in hours]).encode()).hexdigest()[:20]
        failed = [r for r in instance.get_runs(filters=dg.RunsFilter(tags={WORK_TAG: work_id}, statuses=ENDED_BADLY))
                  if "dagster/parent_run_id" not in r.tags]  # the daemon's own retries are not attempts
        if len(failed) >= settings.work_max_attempts and not retry_given_up:
            plan.given_up.append(label)
            log.error(f"{label}: {len(failed)} runs failed (last {failed[0].run_id}); not retried until its "
                      "inputs change: fix the cause, then re-run the range from the UI")
            continue
        if failed and back_off:
            ended = instance.get_run_record_by_id(failed[0].run_id).end_time or now
            wait = min(3600, 60 * 2 ** (len(failed) - 1))
            if now - ended < wait:
                plan.backing_off.append(label)
                log.info(f"{label}: attempt {len(failed) + 1} in {wait - (now - ended):.0f} s")
                continue
        plan.requests.append(dg.RunRequest(
            run_key=f"{work_id}:{len(failed) + 1}",
            tags={RANGE_START: start_key, RANGE_END: end_key, WORK_TAG: work_id},
        ))
    return plan


def register(settings: Settings, sentinel: SentinelResource, cursor: str | None, log) -> tuple[landing.TickOutcome, str]:
    """Register the new, stable landing files (bounded per tick); the new cursor keeps the files still
    being written."""
    state = json.loads(cursor) if cursor else {}
    with sentinel.postgres() as conn:
        outcome = landing.register_landed_files(settings, conn, state.get("waiting", {}))
    for f, reason in outcome.quarantined:
        log.warning(f"quarantined {f.key}: {reason}")
    for path, columns in outcome.extra_columns.items():
        log.info(f"{path}: ignored columns not in its layout: {', '.join(columns)}")
    if outcome.deferred:
        log.info(f"{outcome.deferred} ready files left for the next tick (SENTINEL_SENSOR_MAX_FILES_PER_TICK, "
                 f"_MAX_BYTES_PER_TICK, _TICK_SECONDS)")
    return outcome, json.dumps({"waiting": outcome.waiting})


def pending(settings: Settings, sentinel: SentinelResource) -> dict[datetime, str]:
    """Every hour still to do, up to the current one (``work.pending_hours``)."""
    with sentinel.postgres() as conn:
        return work.pending_hours(conn, settings, hourly_partitions.get_last_partition_window().start)


def evaluate(settings: Settings, sentinel: SentinelResource, instance: dg.DagsterInstance, cursor: str | None,
             log) -> dg.SensorResult:
    outcome, new_cursor = register(settings, sentinel, cursor, log)
    fail_abandoned_runs(instance, log)
    plan = plan_work(pending(settings, sentinel), settings, instance, log)
    if not plan.requests:
        notes = [f"{len(outcome.waiting)} files still being written" if outcome.waiting else "",
                 f"{outcome.deferred} files left for the next tick" if outcome.deferred else "",
                 f"{len(plan.busy)} ranges wait for runs in progress" if plan.busy else "",
                 f"{len(plan.backing_off)} ranges back off after a failed run" if plan.backing_off else "",
                 f"{len(plan.given_up)} ranges failed too often" if plan.given_up else ""]
        return dg.SensorResult(skip_reason="; ".join(["nothing to request", *filter(None, notes)]), cursor=new_cursor)
    return dg.SensorResult(run_requests=plan.requests, cursor=new_cursor)


@dg.sensor(
    job=cdr_pipeline_job,
    minimum_interval_seconds=SETTINGS.sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_files(context: dg.SensorEvaluationContext, sentinel: SentinelResource) -> dg.SensorResult:
    """Registers new CDR files in the landing directory and requests runs for every hour still to do."""
    return evaluate(sentinel.settings(), sentinel, context.instance, context.cursor, context.log)

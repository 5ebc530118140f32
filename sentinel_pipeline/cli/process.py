"""`sentinel process` as a library: what the landing sensor and the daemon do, once, in this process.

``process_landing`` registers every file that is ready, then executes with ``execute_in_process`` a run
for each range of hours still to do (``work.pending_hours``), recorded in the Dagster instance like any
other run, until nothing is left. What is to do is derived from state, so a killed ``sentinel process``
leaves its hours pending and the next one finishes them; a run left STARTED by a process that died is
marked failed first. Ranges that a run of another process is working on are waited for.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

from sentinel_pipeline import database, migrations
from sentinel_pipeline.cli.progress import Progress, RunWatcher
from sentinel_pipeline.settings import Settings

log = logging.getLogger("sentinel.process")


def ensure_database(settings: Settings) -> None:
    """Start the embedded server when no DATABASE_URL is set, and apply migrations."""
    if database.uses_embedded(settings):
        database.start_embedded(settings)
    migrations.migrate(settings)


@dataclass
class ProcessSummary:
    runs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)  # ranges whose runs failed SENTINEL_WORK_MAX_ATTEMPTS times
    seconds: float = 0.0


def process_landing(settings: Settings, *, wait_seconds: float | None = None, progress: Progress | None = None,
                    retry_given_up: bool = False) -> ProcessSummary:
    """Register the landing directory's files and run the pipeline until no hour is left to do.

    Files still being written are waited for (up to ``wait_seconds``, default twice the settle time).
    ``progress`` shows each run and its steps (default: nothing). ``retry_given_up``: run even the ranges
    whose runs failed SENTINEL_WORK_MAX_ATTEMPTS times.
    """
    progress = progress or Progress.quiet()
    database.prepare_environment(settings)
    ensure_database(settings)
    import dagster as dg
    from dagster._core.utils import make_new_run_id

    from resources import SentinelResource
    from sensors.landing import PIPELINE_JOB, fail_abandoned_runs, pending, plan_work, register
    from sentinel_pipeline.definitions import build_definitions

    started = time.perf_counter()
    wait_seconds = 2 * settings.landing_settle_seconds + 1 if wait_seconds is None else wait_seconds
    job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
    resource = SentinelResource.from_settings(settings)
    console_level = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    summary = ProcessSummary()
    cursor = None
    waited = 0.0
    told_busy = False
    with dg.DagsterInstance.get() as instance:
        while True:
            # Register everything that is ready (several bounded ticks), then run what is to do.
            while True:
                outcome, cursor = register(settings, resource, cursor, log)
                if not (outcome.registered or outcome.quarantined):
                    break
            fail_abandoned_runs(instance, log)
            # Asked to process now: a range whose last run failed is retried at once (no back-off), but
            # only once per invocation and never past SENTINEL_WORK_MAX_ATTEMPTS.
            plan = plan_work(pending(settings, resource), settings, instance, log, back_off=False,
                             retry_given_up=retry_given_up)
            summary.given_up = plan.given_up
            for request in plan.requests:
                start_key, end_key = request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]
                run_id, began = make_new_run_id(), time.perf_counter()
                with progress.task(f"run {start_key} .. {end_key} ({run_id})"):
                    with RunWatcher(progress, run_id, total_steps=len(job.graph.node_dict)):
                        run = job.execute_in_process(
                            instance=instance,
                            run_id=run_id,
                            tags={**request.tags, "dagster/run_key": request.run_key,
                                  "sentinel/trigger": "sentinel process",
                                  "sentinel/host": socket.gethostname(), "sentinel/pid": str(os.getpid())},
                            # Dagster's console logger would print every event: the display (or LOG_LEVEL=DEBUG)
                            # shows the run; the event log keeps everything.
                            run_config={"loggers": {"console": {"config": {"log_level": console_level}}}},
                            raise_on_error=False,
                        )
                (summary.runs if run.success else summary.failed).append(run.run_id)
                outcome = "succeeded" if run.success else "FAILED (see the run in the UI)"
                progress.line(f"run {start_key} .. {end_key}: {outcome} in {time.perf_counter() - began:.1f} s")
            if summary.failed:
                break
            if plan.requests:
                continue
            if plan.busy:  # another process's run holds these hours: wait for it, then do what is left
                if not told_busy:
                    progress.line(f"waiting for runs in progress over {', '.join(plan.busy)} ...")
                    told_busy = True
                time.sleep(2)
                continue
            if not outcome.waiting or waited >= wait_seconds:
                break
            time.sleep(1)
            waited += 1
    summary.seconds = time.perf_counter() - started
    return summary

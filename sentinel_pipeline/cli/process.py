"""`sentinel process` as a library: what the landing sensor and the daemon do, once, in this process.

``process_landing`` registers every file that is ready, then executes a run for each range of hours still
to do (``work.pending_hours``; ranges longer than ``SENTINEL_RUN_MAX_HOURS`` split), recorded in the Dagster
instance like any other run, until nothing is left: one at a time in this process, or up to
``SENTINEL_MAX_CONCURRENT_RUNS`` at once, each in a worker process of its own. A run executes its steps
one after the other (``execute_in_process``), or with ``SENTINEL_EXECUTOR=multiprocess`` each in a process
of its own. What is to do is derived from state, so a killed ``sentinel process`` leaves its hours pending
and the next one finishes them; a run left STARTED by a process that died is
marked failed first. Ranges that a run of another process is working on are waited for.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import contextlib
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
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
    from sensors.landing import PIPELINE_JOB, RANGE_END, RANGE_START, fail_abandoned_runs, pending, plan_work, register
    from sentinel_pipeline.definitions import build_definitions

    started = time.perf_counter()
    wait_seconds = 2 * settings.landing_settle_seconds + 1 if wait_seconds is None else wait_seconds
    total_steps = len(build_definitions(settings).resolve_job_def(PIPELINE_JOB).graph.node_dict)
    resource = SentinelResource.from_settings(settings)
    summary = ProcessSummary()
    cursor = None
    waited = 0.0
    told_busy = False

    def report(request: dg.RunRequest, run_id: str, success: bool) -> None:
        (summary.runs if success else summary.failed).append(run_id)
        outcome = "succeeded" if success else "FAILED (see the run in the UI)"
        seconds = time.perf_counter() - began[request.run_key]
        progress.line(f"run {request.tags[RANGE_START]} .. {request.tags[RANGE_END]}: {outcome} in {seconds:.1f} s")

    began: dict[str, float] = {}
    pool = None
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(dg.DagsterInstance.get())
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
            workers = min(settings.max_concurrent_runs, len(plan.requests))
            if workers > 1:
                if pool is None:
                    pool = stack.enter_context(ProcessPoolExecutor(
                        settings.max_concurrent_runs, mp_context=multiprocessing.get_context("spawn")))
                with progress.task(f"{len(plan.requests)} runs, {workers} at a time"):
                    futures = {}
                    for request in plan.requests:
                        began[request.run_key] = time.perf_counter()
                        futures[pool.submit(execute_run, settings, dict(request.tags), request.run_key,
                                            make_new_run_id())] = request
                    for future in as_completed(futures):
                        report(futures[future], *future.result())
            else:  # one at a time in this process, each run's steps shown as they go
                for request in plan.requests:
                    run_id = make_new_run_id()
                    began[request.run_key] = time.perf_counter()
                    with progress.task(f"run {request.tags[RANGE_START]} .. {request.tags[RANGE_END]} ({run_id})"):
                        with RunWatcher(progress, run_id, total_steps=total_steps):
                            result = execute_run(settings, dict(request.tags), request.run_key, run_id)
                    report(request, *result)
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


@functools.lru_cache(maxsize=4)
def _job(settings: Settings):
    from sensors.landing import PIPELINE_JOB
    from sentinel_pipeline.definitions import build_definitions

    return build_definitions(settings).resolve_job_def(PIPELINE_JOB)


def execute_run(settings: Settings, tags: dict[str, str], run_key: str, run_id: str) -> tuple[str, bool]:
    """Execute one run of the pipeline job in this process, recorded in the Dagster instance; returns (run
    id, success). Runs side by side each go in a process of their own (``ProcessPoolExecutor``, spawned):
    two runs in threads of one process deadlock in Dagster's logging set-up (``logging.config.dictConfig``
    at each run's start against the other run's handlers)."""
    database.prepare_environment(settings)
    import dagster as dg

    console_level = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    tags = {**tags, "dagster/run_key": run_key, "sentinel/trigger": "sentinel process",
            "sentinel/host": socket.gethostname(), "sentinel/pid": str(os.getpid())}
    # Dagster's console logger would print every event: the display (or LOG_LEVEL=DEBUG) shows the run; the
    # event log keeps everything.
    run_config = {"loggers": {"console": {"config": {"log_level": console_level}}}}
    with dg.DagsterInstance.get() as instance:
        if settings.executor == "multiprocess":
            # execute_job, but with the run id chosen here: the progress display follows the run by its id
            from dagster._core.execution.api import execute_run as execute_created_run

            job = dg.reconstructable(pipeline_job)
            run = instance.create_run_for_job(job_def=job.get_definition(), run_id=run_id, run_config=run_config,
                                              tags=tags, job_code_origin=job.get_python_origin())
            result = execute_created_run(job, run, instance)
        else:
            result = _job(settings).execute_in_process(instance=instance, run_id=run_id, tags=tags,
                                                       run_config=run_config, raise_on_error=False)
    return result.run_id, result.success


def pipeline_job():
    """The pipeline job for the settings of the environment: what each step's process rebuilds under
    ``SENTINEL_EXECUTOR=multiprocess``."""
    return _job(Settings.from_env())

"""`sentinel process`, `sentinel demo`, `sentinel dev` and `sentinel files`: running the pipeline."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sentinel_pipeline import database, migrations, registry
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import PROJECT_ROOT, Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "process",
        help="register new landing files and run the pipeline for them, to completion",
        description="Evaluates the landing sensor against SENTINEL_LANDING_DIR and executes every run it "
        "requests, recorded in the Dagster instance (the UI shows them). Exits non-zero if a run fails.",
    )
    p.set_defaults(func=_process)

    p = subparsers.add_parser("demo", help="generate a day of CDRs, process it and print the alerts")
    p.add_argument("--subscribers", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--hours", type=int, default=24)
    p.set_defaults(func=_demo)

    p = subparsers.add_parser("dev", help="open the Dagster UI (dagster dev) on Sentinel's instance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default="3000")
    p.set_defaults(func=_dev)

    p = subparsers.add_parser("files", help="the registry of landed files")
    files = p.add_subparsers(dest="files_command", required=True, metavar="ACTION")
    f = files.add_parser("list", help="registered and quarantined files, newest first")
    f.add_argument("--limit", type=int, default=50)
    f.add_argument("--status", choices=["registered", "quarantined", "superseded"], help="only files in this state")
    f.set_defaults(func=_files_list)
    f = files.add_parser("rejects", help="a file's rejected rows: line, reason and what the line held")
    f.add_argument("path", help="path relative to the landing directory, as `sentinel files list` shows it")
    f.add_argument("--limit", type=int, default=50)
    f.set_defaults(func=_files_rejects)
    f = files.add_parser(
        "forget",
        help="drop a file's registration so the next `sentinel process` (or sensor tick) takes it again",
    )
    f.add_argument("path", help="path relative to the landing directory, as `sentinel files list` shows it")
    f.set_defaults(func=_files_forget)


def ensure_database(settings: Settings) -> None:
    """Start the embedded server when no DATABASE_URL is set, and apply migrations."""
    if database.uses_embedded(settings):
        database.start_embedded(settings)
    migrations.migrate(settings)


@dataclass
class ProcessSummary:
    runs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    files: int = 0
    quarantined: int = 0
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
    from sentinel_pipeline.definitions import defs

    started = time.perf_counter()
    wait_seconds = 2 * settings.landing_settle_seconds + 1 if wait_seconds is None else wait_seconds
    job = defs.resolve_job_def(PIPELINE_JOB)
    resource = SentinelResource()
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


def _process(args, settings: Settings) -> int:
    summary = process_landing(settings)
    if not summary.runs and not summary.failed:
        print("no new CDR files")
    print(f"{len(summary.runs)} runs succeeded, {len(summary.failed)} failed in {summary.seconds:.1f} s")
    return 1 if summary.failed else 0


def _demo(args, settings: Settings) -> int:
    from sentinel_pipeline.generator import generate

    # The last ``hours`` whole hours, as if the switches had been delivering up to now.
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=args.hours)
    labels = settings.home / "demo" / "labels.csv"
    labels.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.hours} h of CDRs from {start:%Y-%m-%d %H:%M} UTC into {settings.landing_dir}")
    generated = generate(
        settings.landing_dir / "demo", start=start, hours=args.hours, subscribers=args.subscribers,
        seed=args.seed, labels_path=labels,
    )
    print(generated.line())
    summary = process_landing(settings)
    print(f"{len(summary.runs)} runs succeeded, {len(summary.failed)} failed in {summary.seconds:.1f} s")
    if summary.failed:
        return 1
    _print_demo_alerts(settings, labels)
    return 0


def _print_demo_alerts(settings: Settings, labels_path) -> None:
    from sentinel_pipeline.cli_alerts import print_table

    with database.connect(settings) as conn:
        cursor = conn.execute(
            """
            select alert_id, detector, subject_type, subject, severity::text as severity,
                   round(score::numeric, 2) as score, first_seen, last_seen
            from sentinel.alerts a
            order by a.severity desc, a.score desc, a.alert_id
            """
        )
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, r)) for r in cursor.fetchall()]
    print(f"\n{len(rows)} alerts in sentinel.alerts, worst first:")
    print_table(rows[:30], columns)
    if len(rows) > 30:
        print(f"... and {len(rows) - 30} more: sentinel alerts list --limit 100")
    with open(labels_path, newline="") as fh:
        injected = {r["subject"] for r in csv.DictReader(fh) if r["fraud_type"] == "simbox_sdhf"}
    found = {r["subject"] for r in rows if r["detector"] == "sdhf"}
    print(
        f"\nSDHF: {len(injected & found)} of {len(injected)} injected SDHF SIM boxes alerted; "
        f"{len(found - injected)} other numbers alerted."
    )
    print(f"Precision and recall of every detector: sentinel evaluate --labels {labels_path}")
    print(f"Query them: psql \"{database.database_url(settings)}\" -c 'select * from sentinel.alerts'")
    print("Open the Dagster UI: make dev")


def _dev(args, settings: Settings) -> int:
    env = database.prepare_environment(settings)
    ensure_database(settings)
    dagster = shutil.which("dagster", path=os.path.dirname(sys.executable)) or shutil.which("dagster")
    if not dagster:
        raise SentinelError("the `dagster` command is not installed in this environment")
    command = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", args.port]
    print(f"DAGSTER_HOME={env['DAGSTER_HOME']} {' '.join(command)}", flush=True)
    os.execv(dagster, command)


def _files_list(args, settings: Settings) -> int:
    with database.connect(settings) as conn:
        rows = conn.execute(
            """
            select f.file_id, f.status, f.path, f.rows_read, array_length(f.hours, 1), coalesce(f.reason, ''),
                   f.extra_columns, (select count(*) from sentinel.cdr_rejects r where r.file_id = f.file_id)
            from sentinel.landed_files f
            where %(status)s::text is null or f.status = %(status)s
            order by f.file_id desc limit %(limit)s
            """,
            {"status": args.status, "limit": args.limit},
        ).fetchall()
    print(f"{'file_id':>7}  {'status':<11} {'rows':>8} {'rejected':>8} {'hours':>5}  path / reason")
    for file_id, status, path, rows_read, hours, reason, extra, rejected in rows:
        note = f"  (ignored columns: {', '.join(extra)})" if extra else ""
        print(f"{file_id:>7}  {status:<11} {rows_read or 0:>8} {rejected:>8} {hours or 0:>5}  {path}  {reason}{note}")
    return 0


def _files_rejects(args, settings: Settings) -> int:
    with database.connect(settings) as conn:
        rows = conn.execute(
            """
            select r.line, r.reason, r.raw
            from sentinel.cdr_rejects r join sentinel.landed_files f using (file_id)
            where f.path = %s and f.status = 'registered'
            order by r.line limit %s
            """,
            [args.path, args.limit],
        ).fetchall()
    if not rows:
        print(f"{args.path}: no rejected rows")
    for line, reason, raw in rows:
        print(f"{args.path}:{line}: {reason}\n    {(raw or '')[:200]}")
    return 0


def _files_forget(args, settings: Settings) -> int:
    with database.connect(settings, autocommit=True) as conn:
        hours = registry.forget_file(conn, args.path)
    if not hours:
        print(f"{args.path}: not registered (nothing to forget)")
        return 0
    print(f"{args.path}: forgotten; it covered {len(hours)} hours. Run `sentinel process` to take it again.")
    return 0

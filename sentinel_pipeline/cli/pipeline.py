"""`sentinel process`, `sentinel demo` and `sentinel dev`: running the pipeline."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone

from sentinel_pipeline import database
from sentinel_pipeline.cli.process import ensure_database, process_landing
from sentinel_pipeline.cli.progress import Progress
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import PROJECT_ROOT, Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "process",
        help="register new landing files and run the pipeline for them, to completion",
        description="Evaluates the landing sensor against SENTINEL_LANDING_DIR and executes every run it "
        "requests, recorded in the Dagster instance (the UI shows them). Exits non-zero if a run fails.",
    )
    p.add_argument("--retry", action="store_true",
                   help="also run the ranges whose runs failed SENTINEL_WORK_MAX_ATTEMPTS times (after a fix)")
    p.add_argument("--quiet", action="store_true", help="print only the summary (for scripts)")
    p.set_defaults(func=_process)

    p = subparsers.add_parser("demo", help="generate a day of CDRs, process it and print the alerts")
    p.add_argument("--subscribers", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--quiet", action="store_true", help="print only the summary and the alerts")
    p.set_defaults(func=_demo)

    p = subparsers.add_parser("dev", help="open the Dagster UI (dagster dev) on Sentinel's instance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default="3000")
    p.set_defaults(func=_dev)

    p = subparsers.add_parser("dg", help="Dagster's dg command line on Sentinel's instance (e.g. dg check defs)",
                              description="Runs `dg ARGS` in the project with the environment dagster.yaml "
                              "reads (the database Sentinel uses, started if it is the embedded one).")
    p.add_argument("dg_args", nargs=argparse.REMAINDER, help="arguments for dg, e.g. list defs")
    p.set_defaults(func=_dg)


def _process(args, settings: Settings) -> int:
    summary = process_landing(settings, retry_given_up=args.retry, progress=Progress.for_terminal(args.quiet))
    if summary.given_up:
        print(f"not run: {', '.join(summary.given_up)}: their runs failed SENTINEL_WORK_MAX_ATTEMPTS="
              f"{settings.work_max_attempts} times; fix the cause (see the failed runs in the UI), then re-run "
              "them with `sentinel process --retry`", file=sys.stderr)
    elif not summary.runs and not summary.failed:
        print("nothing to do: every registered hour is up to date")
    print(f"{len(summary.runs)} runs succeeded, {len(summary.failed)} failed in {summary.seconds:.1f} s")
    return 1 if summary.failed or summary.given_up else 0


def _demo(args, settings: Settings) -> int:
    from sentinel_pipeline import storage
    from sentinel_pipeline.cli.progress import files_written
    from sentinel_pipeline.generator import generate

    progress = Progress.for_terminal(args.quiet)
    # The last ``hours`` whole hours, as if the switches had been delivering up to now.
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=args.hours)
    labels = settings.home / "demo" / "labels.csv"
    labels.parent.mkdir(parents=True, exist_ok=True)
    where = settings.landing.url("demo")
    with progress.task(f"generating {args.hours} h of CDRs from {start:%Y-%m-%d %H:%M} UTC into {where}"):
        with storage.delivery(settings.landing, "demo") as out, files_written(progress, out, args.hours * 12):
            generated = generate(out, start=start, hours=args.hours, subscribers=args.subscribers,
                                 seed=args.seed, labels_path=labels)
    print(generated.line())
    summary = process_landing(settings, progress=progress)
    print(f"{len(summary.runs)} runs succeeded, {len(summary.failed)} failed in {summary.seconds:.1f} s")
    if summary.failed:
        return 1
    _print_demo_alerts(settings, labels)
    return 0


def _print_demo_alerts(settings: Settings, labels_path) -> None:
    from sentinel_pipeline.cli.alerts import print_table

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


def _tool(name: str) -> str:
    path = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if not path:
        raise SentinelError(f"the `{name}` command is not installed in this environment")
    return path


def _dev(args, settings: Settings) -> int:
    env = database.prepare_environment(settings)
    ensure_database(settings)
    dagster = _tool("dagster")
    command = [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", args.port]
    print(f"DAGSTER_HOME={env['DAGSTER_HOME']} {' '.join(command)}", flush=True)
    os.execv(dagster, command)


def _dg(args, settings: Settings) -> int:
    database.prepare_environment(settings)
    ensure_database(settings)
    dg = _tool("dg")
    os.chdir(PROJECT_ROOT)  # dg finds the project (pyproject.toml [tool.dg]) and dagster.yaml here
    os.environ["VIRTUAL_ENV"] = sys.prefix  # the project's environment: dg warns about any other
    os.execv(dg, [dg, *args.dg_args])

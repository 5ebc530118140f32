"""``sentinel generate``: write synthetic CDR files and their fraud labels."""

from __future__ import annotations

import argparse
import contextlib
from datetime import datetime

from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.generator.scenario_help import SCENARIO_HELP


def _start(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate",
        help="write synthetic CDR files (with injected fraud) and labels.csv",
        description="Write deterministic synthetic CDRs, one file per --file-minutes of event time, the way a "
        "mediation system delivers them, plus labels.csv naming every injected fraud subject and look-alike.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios:\n" + "\n".join(f"  {k:<12} {v}" for k, v in SCENARIO_HELP.items())
        + "\n  NAME:type=n,...  a scenario with some counts changed, e.g. default:wangiri=5,irsf=0"
        + "\n  type=n,...       only the named patterns, e.g. simbox_sdhf=20,cli_masking=1",
    )
    p.add_argument("--out", required=True,
                   help="directory or s3://bucket/prefix to deliver into (e.g. the landing zone); files appear "
                        "there complete (a temporary name renamed, or one upload each)")
    p.add_argument("--start", type=_start, default=None, help="first hour, ISO-8601 (default: yesterday 00:00 UTC)")
    p.add_argument("--hours", type=int, default=24, help="hours of traffic (default 24)")
    p.add_argument("--subscribers", type=int, default=20_000, help="own subscribers (default 20000)")
    p.add_argument("--seed", type=int, default=42, help="random seed; same seed, same bytes (default 42)")
    p.add_argument("--format", dest="fmt", choices=["csv", "csv.gz", "parquet"], default="csv")
    p.add_argument("--file-minutes", type=int, default=5, help="minutes of event time per file (divides 60)")
    p.add_argument("--scenario", default="default", help="fraud mix (see below; default 'default')")
    p.add_argument("--labels", default=None,
                   help="where to write labels.csv (default OUT/labels.csv; required for a bucket)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: 2 for big runs)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings) -> int:
    from sentinel_pipeline.cli.progress import Progress, files_written
    from sentinel_pipeline.generator import generate

    if settings is not None and str(getattr(settings, "country_code", "234")) != "234":
        print(f"note: the generator's numbering plan is country code 234; SENTINEL_COUNTRY_CODE is "
              f"{settings.country_code}")
    from sentinel_pipeline import storage

    out = storage.location(args.out)
    bucket = isinstance(out, storage.S3Location)
    if bucket and args.labels is None:
        raise SentinelError("--labels is required with a bucket: labels.csv in the landing zone would be read as CDRs")
    progress = Progress.for_terminal(quiet=args.quiet)
    expected = args.hours * 60 // max(args.file_minutes, 1)
    try:
        with progress.task(f"generating {args.hours} h of CDRs for {args.subscribers:,} subscribers into {args.out}"):
            # A directory is written in place, file by file; a bucket gets each file uploaded at the end.
            staged = storage.delivery(out) if bucket else contextlib.nullcontext(args.out)
            with staged as directory, files_written(progress, directory, expected):
                summary = generate(
                    directory, args.start, args.hours, args.subscribers, args.seed, file_minutes=args.file_minutes,
                    fmt=args.fmt, scenario=args.scenario, labels_path=args.labels, workers=args.workers,
                )
    except ValueError as exc:
        raise SentinelError(str(exc)) from exc
    print(summary.line())
    return 0

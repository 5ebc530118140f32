"""`sentinel report --from DATE --to DATE --out FILE.html [--csv DIR]`: the report managers and
regulators read (``sentinel_pipeline/report``)."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sentinel_pipeline.cli.common import connect
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="an HTML report with charts (and CSV files for regulators) for a period")
    p.add_argument("--from", dest="start", type=_date, required=True, help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="end", type=_date, required=True,
                   help="last day, included (the same day for a daily report, 7 days for a weekly one)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--csv", type=Path, metavar="DIR", help="also write the regulators' CSV files into DIR")
    p.set_defaults(func=cmd_report)


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in UTC."""
    if end < start:
        raise SentinelError(f"--to {end} is before --from {start}")
    return (datetime.combine(start, time(), timezone.utc), datetime.combine(end + timedelta(days=1), time(), timezone.utc))


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from sentinel_pipeline.report.figures import collect
    from sentinel_pipeline.report.html import render_html
    from sentinel_pipeline.report.regulator import write_csv

    if args.out.suffix.lower() not in (".html", ".htm"):
        raise SentinelError(f"--out {args.out}: the report is HTML, name it FILE.html")
    start, end = period(args.start, args.end)
    with connect(settings) as conn:
        figures = collect(conn, settings, start, end)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_html(figures), encoding="utf-8")
    print(f"report for {args.start} to {args.end}: {figures.total_alerts} alerts, estimated loss "
          f"{figures.total_loss:,.2f} {figures.currency or ''}".rstrip() + f" -> {args.out}")
    if args.csv:
        for path in write_csv(figures, args.csv):
            print(f"  {path}")
    return 0

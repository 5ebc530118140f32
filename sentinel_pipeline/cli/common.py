"""What the analysts' commands (``alerts``, ``cases``, ``actions``, ``report``) share: reading an ISO-8601
time argument, printing rows as a table or as JSON, a UTC dict cursor and the reviewer's name."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sentinel_pipeline.settings import Settings


def parse_time(value: str) -> datetime:
    """An argparse type: ISO-8601, ``Z`` allowed; a value without offset is UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def jsonable(value: Any) -> Any:
    """What json.dumps cannot write itself: times as UTC ISO-8601, PostgreSQL numerics as numbers."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_table(rows: list[dict], columns: tuple[str, ...] | list[str], out=None) -> None:
    out = out or sys.stdout
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip(), file=out)


def print_listing(rows: list[dict], columns: tuple[str, ...] | list[str], noun: str, limit: int,
                  as_json: bool) -> None:
    """A ``list`` command's output: JSON, or the table with a count that says when ``limit`` was reached."""
    if as_json:
        dump(rows)
    elif not rows:
        print(f"no {noun}s match")
    else:
        print_table(rows, columns)
        print(f"({len(rows)} {noun}{'s' if len(rows) != 1 else ''}{', limit reached' if len(rows) == limit else ''})")


def dump(value: Any) -> None:
    print(json.dumps(value, indent=2, default=jsonable))


def connect(settings: Settings, **kw):
    from sentinel_pipeline import database

    return database.connect(settings, **kw)


def dict_cursor(conn):
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    cur.execute("set time zone 'UTC'")
    return cur


def default_reviewer() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"

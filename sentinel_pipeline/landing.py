"""The landing directory: which files are ready, registering them once, and the hours to (re)build.

Writers should deliver a file under a temporary name (a leading ``.`` or ``_``, or a ``.tmp``/``.part``
suffix) and rename it when complete. A file with an ordinary name is still only taken once it is
stable: its size and mtime unchanged since the previous look, or its mtime older than
``SENTINEL_LANDING_SETTLE_SECONDS``.

A file is known by its identity (path relative to the landing directory, size, mtime): the same identity
is registered once, ever; a changed file is a new identity and supersedes the old one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg

from sentinel_pipeline import duck, registry
from sentinel_pipeline.cdr.layouts import CDR_SUFFIXES, FileLayout, file_format
from sentinel_pipeline.cdr.lines import count_lines
from sentinel_pipeline.cdr.read import with_file_rows
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.settings import Settings

TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload")


@dataclass(frozen=True)
class LandedFile:
    path: str  # relative to the landing directory
    size: int
    mtime_ns: int

    @property
    def identity(self) -> tuple[str, int, int]:
        return (self.path, self.size, self.mtime_ns)


@dataclass
class TickOutcome:
    registered: list[tuple[LandedFile, int, list[datetime]]] = field(default_factory=list)
    quarantined: list[tuple[LandedFile, str]] = field(default_factory=list)
    hours: set[datetime] = field(default_factory=set)
    waiting: dict[str, list[int]] = field(default_factory=dict)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # path -> ignored columns


def is_candidate(name: str) -> bool:
    lower = name.lower()
    if lower.startswith((".", "_")) or lower.endswith(TEMPORARY_SUFFIXES):
        return False
    return lower.endswith(CDR_SUFFIXES)


def list_landing(landing_dir: Path) -> list[LandedFile]:
    """Candidate files under the landing directory, oldest first."""
    found = []
    for root, dirs, names in os.walk(landing_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in names:
            if not is_candidate(name):
                continue
            full = Path(root) / name
            try:
                st = full.stat()
            except FileNotFoundError:  # renamed or removed while we looked
                continue
            found.append(LandedFile(str(full.relative_to(landing_dir)), st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: (f.mtime_ns, f.path))


def scan_file(con, path: Path, settings: Settings) -> tuple[FileLayout, list[datetime], int]:
    """The layout of a file, the partition hours its rows fall into, and its row count (every record,
    including the ones that will be rejected). Raises ``UnreadableFile`` for a file to quarantine.

    The layout's ``table`` is set when the file must be read line by line (``read_by_line`` in the
    registry): DuckDB refused it, or its row count does not match its line count (blank lines, quoted
    line breaks), which would make DuckDB's row numbers wrong as line numbers.
    """
    def hours_sql(sql: str):
        return con.execute(f"select hour, count(*) from ({sql}) group by hour").fetchall()

    layout, rows = with_file_rows(con, path, 0, settings, hours_sql)
    total = sum(n for _, n in rows)
    if layout.format == "csv" and layout.table is None and count_lines(path) != total + 1:
        layout, rows = with_file_rows(con, path, 0, settings, hours_sql, lenient=True)
        total = sum(n for _, n in rows)
    if total == 0:
        raise UnreadableFile(path, "has a header but no rows")
    hours = sorted(h for h, _ in rows if h is not None)
    if not hours:
        raise UnreadableFile(path, f"none of its {total} rows has a readable seizure_time")
    return layout, hours, total


def register_landed_files(
    settings: Settings,
    conn: psycopg.Connection,
    seen_before: dict[str, list[int]],
    now: float | None = None,
) -> TickOutcome:
    """Register every new, stable file (at most ``sensor_max_files_per_tick``) and collect its hours.

    ``seen_before`` maps a path to the [size, mtime_ns] seen on the previous look (the sensor cursor).
    """
    now = time.time() if now is None else now
    outcome = TickOutcome()
    listing = list_landing(settings.landing_dir)
    known = registry.known_identities(conn, [f.path for f in listing])
    ready = []
    for f in (f for f in listing if f.identity not in known):
        settled = now - f.mtime_ns / 1e9 >= settings.landing_settle_seconds
        if not settled and seen_before.get(f.path) != [f.size, f.mtime_ns]:
            outcome.waiting[f.path] = [f.size, f.mtime_ns]
        elif len(ready) < settings.sensor_max_files_per_tick:
            ready.append(f)
    if not ready:
        return outcome
    with duck.connect(settings) as con:
        for f in ready:
            _register(settings, conn, con, f, outcome)
    return outcome


def _register(settings: Settings, conn: psycopg.Connection, con, f: LandedFile, outcome: TickOutcome) -> None:
    fmt = file_format(Path(f.path)) or "csv"
    try:
        layout, hours, rows = scan_file(con, settings.landing_dir / f.path, settings)
    except (UnreadableFile, duckdb.Error) as exc:
        # One bad file never holds up the others: it is set aside with its reason.
        reason = exc.reason if isinstance(exc, UnreadableFile) else f"cannot be read: {str(exc).splitlines()[0]}"
        if registry.register_file(conn, path=f.path, size=f.size, mtime_ns=f.mtime_ns, format=fmt, layout=None,
                                  hours=[], rows_read=None, quarantine_reason=reason) is not None:
            outcome.quarantined.append((f, reason))
        return
    registered = registry.register_file(
        conn, path=f.path, size=f.size, mtime_ns=f.mtime_ns, format=fmt, layout=layout.layout,
        hours=hours, rows_read=rows, extra_columns=layout.extra_columns, read_by_line=layout.table is not None,
    )
    if registered is None:  # another process registered it while this one was reading it
        return
    file_id, old_hours = registered
    outcome.registered.append((f, file_id, hours))
    if layout.extra_columns:
        outcome.extra_columns[f.path] = list(layout.extra_columns)
    outcome.hours.update(hours)
    outcome.hours.update(old_hours)

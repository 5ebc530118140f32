"""The landing zone: which files are ready, registering them once, and the hours to (re)build.

The landing zone is a local directory or a bucket (``SENTINEL_LANDING_URL``, read through
``sentinel_pipeline.storage``). Writers should deliver a file under a temporary name (a leading ``.`` or
``_`` in any segment of its path, or a ``.tmp``/``.part`` suffix: ``storage.is_temporary``) and rename it
when complete. In a directory, a file with an ordinary name is still only taken once it is stable: its size
and mtime unchanged since the previous look, or its mtime older than ``SENTINEL_LANDING_SETTLE_SECONDS``.
In a bucket an object is complete as soon as it is listed (an upload is published only when it completes),
so no settle time applies.

A file is known by its identity (key relative to the landing zone, size, version: ``storage.Entry``; the
version is a local file's mtime in ns, an object's ETag): the same identity is registered once, ever; a
changed file is a new identity and supersedes the old one.

DuckDB and the line-by-line reader read local files: a bucket's files are downloaded for the time they
are read (``local_files``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import duckdb
import psycopg

from sentinel_pipeline import duck, registry, storage
from sentinel_pipeline.cdr.layouts import CDR_SUFFIXES, FileLayout, detect_layout, file_format, first_line, layout_key
from sentinel_pipeline.cdr.lines import count_lines
from sentinel_pipeline.cdr.normalise import canonical_scan_sql, hour_of_rows_sql
from sentinel_pipeline.cdr.read import with_file_rows
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.settings import Settings
from sentinel_pipeline.storage import Entry


@dataclass
class TickOutcome:
    registered: list[tuple[Entry, int, list[datetime]]] = field(default_factory=list)
    quarantined: list[tuple[Entry, str]] = field(default_factory=list)
    hours: set[datetime] = field(default_factory=set)
    waiting: dict[str, list] = field(default_factory=dict)  # key -> [size, version] of files still being written
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # path -> ignored columns
    deferred: int = 0  # ready files left for the next tick (the tick's file, byte or time budget ran out)


def is_candidate(key: str) -> bool:
    return not storage.is_temporary(key) and key.lower().endswith(CDR_SUFFIXES)


def list_landing(landing: storage.Location) -> list[Entry]:
    """Candidate files of the landing zone, oldest first."""
    found = [e for e in landing.list() if is_candidate(e.key)]
    return sorted(found, key=lambda e: (e.modified, e.key))


@contextlib.contextmanager
def local_files(settings: Settings, keys: Iterable[str]) -> Iterator[dict[str, Path]]:
    """A local path for each landing key, for DuckDB and the line-by-line reader: a local landing
    directory's own files; for a bucket, copies downloaded into a scratch directory under
    ``SENTINEL_HOME/landing_copies``, removed on exit (DuckDB reads local CSV several times faster than
    through s3fs, and a file may be read more than once). A missing file raises ``storage.NotFound``."""
    landing = settings.landing
    scratch: Path | None = None
    paths = {}
    try:
        for key in keys:
            path = landing.local_path(key)
            if path is None:
                if scratch is None:
                    (settings.home / "landing_copies").mkdir(parents=True, exist_ok=True)
                    scratch = Path(tempfile.mkdtemp(dir=settings.home / "landing_copies"))
                path = scratch / key
                landing.download(key, path)
            elif not path.is_file():
                raise storage.NotFound(landing.url(key), "no such file")
            paths[key] = path
        yield paths
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class Scan:
    """What registration learns of a file: its layout, the hours its records fall into and how many there
    are (every record, including those that will be rejected)."""

    layout: FileLayout
    hours: list[datetime]
    rows: int


def _scan(path: Path, layout: FileLayout, counts: list[tuple[datetime | None, int]]) -> Scan:
    total = sum(n for _, n in counts)
    if total == 0:
        raise UnreadableFile(path, "has a header but no rows")
    hours = sorted(h for h, _ in counts if h is not None)
    if not hours:
        raise UnreadableFile(path, f"none of its {total} rows has a readable seizure_time")
    return Scan(layout, hours, total)


def scan_file(con, path: Path, settings: Settings, layout: FileLayout | None = None) -> Scan:
    """One file on its own. Raises ``UnreadableFile`` for a file to quarantine.

    The layout's ``table`` is set when the file must be read line by line (``read_by_line`` in the
    registry): DuckDB refused it, or its row count does not match its line count (blank lines, quoted
    line breaks), which would make DuckDB's row numbers wrong as line numbers.
    """
    def counts(sql: str):
        return con.execute(hour_of_rows_sql(sql, settings)).fetchall()

    layout, rows = with_file_rows(con, path, 0, settings, counts, layout=layout)
    if layout.format == "csv" and layout.table is None and count_lines(path) != sum(n for _, n in rows) + 1:
        layout, rows = with_file_rows(con, path, 0, settings, counts, lenient=True, layout=layout)
    return _scan(path, layout, rows)


def scan_files(con, paths: list[Path], settings: Settings) -> dict[Path, Scan | UnreadableFile]:
    """Every file's scan (or why it cannot be read), with one DuckDB scan per layout: the layout is
    detected once per distinct header line, and the files DuckDB's reader takes whole are counted
    together. A file that breaks a shared scan, or whose lines DuckDB would misnumber, is scanned alone."""
    results: dict[Path, Scan | UnreadableFile] = {}
    by_header: dict[tuple, FileLayout] = {}
    layouts: dict[Path, FileLayout] = {}
    groups: dict[tuple, list[Path]] = {}
    for path in paths:
        try:
            # A Parquet file's header is its schema: detected for each file.
            header = (file_format(path), first_line(path)) if file_format(path) == "csv" else path
            if header not in by_header:
                by_header[header] = detect_layout(con, path, settings)
        except UnreadableFile as exc:
            results[path] = exc
            continue
        layout = layouts[path] = by_header[header]
        group = ("alone", path) if layout.needs_lenient else layout_key(layout)
        groups.setdefault(group, []).append(path)
    for group, members in groups.items():
        counts: dict[Path, list] = {}
        if group[0] != "alone":
            sql = hour_of_rows_sql(canonical_scan_sql(members, layouts[members[0]]), settings, by_file=True)
            try:
                for index, hour, rows in con.execute(sql).fetchall():
                    counts.setdefault(members[index], []).append((hour, rows))
            except duckdb.Error:
                counts = {}
        for path in members:
            rows = counts.get(path)
            try:
                if rows is None or (layouts[path].format == "csv" and count_lines(path) != sum(n for _, n in rows) + 1):
                    results[path] = scan_file(con, path, settings, layouts[path])
                else:
                    results[path] = _scan(path, layouts[path], rows)
            except UnreadableFile as exc:
                results[path] = exc
            except duckdb.Error as exc:
                results[path] = UnreadableFile(path, f"cannot be read: {str(exc).splitlines()[0]}")
    return results


def register_landed_files(
    settings: Settings,
    conn: psycopg.Connection,
    seen_before: dict[str, list],
    now: float | None = None,
) -> TickOutcome:
    """Register new, stable files and collect their hours, within the tick's budget: at most
    ``sensor_max_files_per_tick`` files and ``sensor_max_bytes_per_tick`` bytes (one file at least,
    however large), and no new batch once ``sensor_tick_seconds`` have passed. The files left over are
    counted in ``deferred`` and taken by the next tick; each batch is registered before the next is read.

    ``seen_before`` maps a key to the [size, version] seen on the previous look (the sensor cursor).
    """
    started = time.monotonic()
    now = time.time() if now is None else now
    outcome = TickOutcome()
    landing = settings.landing
    listing = list_landing(landing)
    known = registry.known_identities(conn, [f.key for f in listing])
    ready, ready_bytes = [], 0
    for f in (f for f in listing if f.identity not in known):
        settled = landing.complete_when_listed or now - f.modified >= settings.landing_settle_seconds
        if not settled and seen_before.get(f.key) != [f.size, f.version]:
            outcome.waiting[f.key] = [f.size, f.version]
        elif ready and (len(ready) >= settings.sensor_max_files_per_tick
                        or ready_bytes + f.size > settings.sensor_max_bytes_per_tick):
            outcome.deferred += 1
        else:
            ready.append(f)
            ready_bytes += f.size
    if not ready:
        return outcome
    batches = _batches(ready, BATCH_BYTES)
    with duck.connect(settings) as con:
        for n, batch in enumerate(batches):
            if n and time.monotonic() - started > settings.sensor_tick_seconds:
                outcome.deferred += sum(len(b) for b in batches[n:])
                break
            try:
                with local_files(settings, [f.key for f in batch]) as paths:
                    scans = scan_files(con, list(paths.values()), settings)
            except storage.NotFound:  # removed while this tick read it: looked at again next tick
                outcome.deferred += len(batch)
                continue
            for f in batch:
                _register(conn, f, scans[paths[f.key]], outcome)
    return outcome


# Registration reads files in batches of about this many bytes, checking the tick's time between them.
BATCH_BYTES = 256_000_000


def _batches(files: list[Entry], size: int) -> list[list[Entry]]:
    batches: list[list[Entry]] = []
    total = size
    for f in files:
        if total >= size:
            batches.append([])
            total = 0
        batches[-1].append(f)
        total += f.size
    return batches


def _register(conn: psycopg.Connection, f: Entry, scan: Scan | UnreadableFile, outcome: TickOutcome) -> None:
    fmt = file_format(Path(f.key)) or "csv"
    if isinstance(scan, UnreadableFile):
        # One bad file never holds up the others: it is set aside with its reason.
        if registry.register_file(conn, path=f.key, size=f.size, version=f.version, format=fmt, layout=None,
                                  hours=[], rows_read=None, quarantine_reason=scan.reason) is not None:
            outcome.quarantined.append((f, scan.reason))
        return
    layout = scan.layout
    registered = registry.register_file(
        conn, path=f.key, size=f.size, version=f.version, format=fmt, layout=layout,
        hours=scan.hours, rows_read=scan.rows, read_by_line=layout.table is not None,
    )
    if registered is None:  # another process registered it while this one was reading it
        return
    file_id, old_hours = registered
    outcome.registered.append((f, file_id, scan.hours))
    if layout.extra_columns:
        outcome.extra_columns[f.key] = list(layout.extra_columns)
    outcome.hours.update(scan.hours)
    outcome.hours.update(old_hours)

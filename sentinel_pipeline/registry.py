"""Ingest bookkeeping in PostgreSQL: the landed-file registry, rejected rows and per-hour ingest facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import psycopg
from psycopg.types.json import Jsonb

from sentinel_pipeline.cdr.layouts import FileLayout


@dataclass(frozen=True)
class RegisteredFile:
    file_id: int
    path: str
    hours: list[datetime]
    read_by_line: bool = False  # DuckDB's CSV reader cannot number its lines (cdr.lines.lenient_table)
    rows_read: int = 0  # records counted at registration
    layout: FileLayout | None = None  # as registration found it (None for files registered before it was kept)


def known_identities(conn: psycopg.Connection, paths: Iterable[str]) -> set[tuple[str, int, str]]:
    """(path, size, version) of every registration of these paths, current or not (``storage.Entry.identity``:
    the version is a local file's mtime in ns, an object's ETag)."""
    rows = conn.execute(
        "select path, size_bytes, version from sentinel.landed_files where path = any(%s)", [list(paths)]
    ).fetchall()
    return {(p, s, m) for p, s, m in rows}


def register_file(
    conn: psycopg.Connection,
    *,
    path: str,
    size: int,
    version: str,
    format: str,
    layout: FileLayout | None,
    hours: list[datetime],
    rows_read: int | None,
    quarantine_reason: str | None = None,
    read_by_line: bool = False,
) -> tuple[int, list[datetime]] | None:
    """Register one version of a file; returns its file_id and the hours of the version it replaces, or
    None when another process registered this very version first (two ticks or processes at once).

    The previous current version of the same path (if any) becomes 'superseded', so that its hours are
    rebuilt from the new version alone.
    """
    with conn.transaction():
        # One registration of a path at a time; the loser of a race sees the winner's row and stops.
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 7))", [path])
        if conn.execute(
            "select 1 from sentinel.landed_files where path = %s and size_bytes = %s and version = %s",
            [path, size, version],
        ).fetchone():
            return None
        previous = conn.execute(
            """
            update sentinel.landed_files set status = 'superseded'
            where path = %s and status = 'registered'
            returning hours
            """,
            [path],
        ).fetchall()
        status = "quarantined" if quarantine_reason else "registered"
        (file_id,) = conn.execute(
            """
            insert into sentinel.landed_files
                (path, size_bytes, version, format, layout, status, reason, hours, rows_read, extra_columns,
                 read_by_line, delimiter, file_columns)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning file_id
            """,
            [path, size, version, format, layout.layout if layout else None, status, quarantine_reason, hours,
             rows_read, list(layout.extra_columns) if layout else [], read_by_line,
             layout.delimiter if layout else None, Jsonb(layout.columns) if layout else None],
        ).fetchone()
    return file_id, sorted({h for (hs,) in previous for h in hs})


def files_for_hours(conn: psycopg.Connection, hours: list[datetime]) -> list[RegisteredFile]:
    rows = conn.execute(
        """
        select file_id, path, hours, read_by_line, coalesce(rows_read, 0), format, layout, file_columns,
               extra_columns, delimiter
        from sentinel.landed_files
        where status = 'registered' and hours && %s::timestamptz[]
        order by file_id
        """,
        [hours],
    ).fetchall()
    return [
        RegisteredFile(file_id, path, hours, by_line, rows_read,
                       FileLayout(fmt, name, columns, tuple(extra), delimiter) if columns is not None else None)
        for file_id, path, hours, by_line, rows_read, fmt, name, columns, extra, delimiter in rows
    ]


def forget_file(conn: psycopg.Connection, path: str) -> list[datetime]:
    """Drop every registration of ``path`` so the sensor treats it as new; returns the hours it covered."""
    with conn.transaction():
        rows = conn.execute(
            "select file_id, hours from sentinel.landed_files where path = %s", [path]
        ).fetchall()
        ids = [file_id for file_id, _ in rows]
        conn.execute("delete from sentinel.cdr_rejects where file_id = any(%s)", [ids])
        conn.execute("delete from sentinel.landed_files where file_id = any(%s)", [ids])
    return sorted({h for _, hs in rows for h in hs})


def raw_row_counts(conn: psycopg.Connection, hours: list[datetime]) -> dict[datetime, int]:
    """Accepted rows of each raw hour as last written (0 for hours never written)."""
    rows = conn.execute(
        "select hour, rows_accepted from sentinel.raw_partitions where hour = any(%s)", [hours]
    ).fetchall()
    return {**dict.fromkeys(hours, 0), **dict(rows)}


def raw_fingerprints(conn: psycopg.Connection, hours: list[datetime]) -> dict[datetime, str]:
    rows = conn.execute(
        "select hour, input_fingerprint from sentinel.raw_partitions where hour = any(%s)", [hours]
    ).fetchall()
    return dict(rows)


def save_raw_partitions(
    conn: psycopg.Connection, hours: list[datetime], facts: list[dict], rejects: Iterable[tuple]
) -> None:
    """Replace the rejects and ingest facts of ``hours`` in one transaction.

    ``rejects`` rows are (file_id, line, hour, reason, raw); a record delivered again (same record_id)
    is one of them, with reason 'duplicate record_id ...', so that per file accepted + rejected = read.
    """
    with conn.transaction():
        conn.execute("delete from sentinel.cdr_rejects where hour = any(%s)", [hours])
        with conn.cursor().copy(
            "copy sentinel.cdr_rejects (file_id, line, hour, reason, raw) from stdin"
        ) as copy:
            for row in rejects:
                copy.write_row(row)
        conn.cursor().executemany(
            """
            insert into sentinel.raw_partitions
                (hour, input_fingerprint, rows_accepted, rows_rejected, duplicates, files)
            values (%(hour)s, %(fingerprint)s, %(accepted)s, %(rejected)s, %(duplicates)s, %(files)s)
            on conflict (hour) do update set
                input_fingerprint = excluded.input_fingerprint,
                rows_accepted = excluded.rows_accepted,
                rows_rejected = excluded.rows_rejected,
                duplicates = excluded.duplicates,
                files = excluded.files,
                written_at = now()
            """,
            facts,
        )


def recent_quarantine(conn: psycopg.Connection, limit: int = 20) -> list[tuple[str, str, datetime]]:
    """(path, reason, registered_at) of the newest quarantined files that were not fixed since (no
    later version of the same path is registered)."""
    return conn.execute(
        """
        select q.path, q.reason, q.registered_at
        from sentinel.landed_files q
        where q.status = 'quarantined'
          and not exists (
              select 1 from sentinel.landed_files f
              where f.path = q.path and f.file_id > q.file_id and f.status <> 'quarantined'
          )
        order by q.file_id desc
        limit %s
        """,
        [limit],
    ).fetchall()

"""The Parquet lake: one file per asset and hourly partition, replaced atomically.

Layout: ``<SENTINEL_LAKE_DIR>/<asset>/<YYYY-MM-DD>/<HHMM>.parquet``, named by the partition's start as a
UTC instant, so a reader can find an hour without knowing the partition time zone.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from sentinel_pipeline.duck import literal
from sentinel_pipeline.errors import SentinelError


def hour_path(lake_dir: Path, asset: str, hour: datetime) -> Path:
    utc = hour.astimezone(timezone.utc)
    return lake_dir / asset / utc.strftime("%Y-%m-%d") / f"{utc.strftime('%H%M')}.parquet"


def existing_paths(lake_dir: Path, asset: str, hours: list[datetime], lookback_hours: int = 0) -> list[str]:
    """The files of ``asset`` that exist for every hour from ``lookback_hours`` before the first of
    ``hours`` to the last of them."""
    hour, last = min(hours) - timedelta(hours=lookback_hours), max(hours)
    paths = []
    while hour <= last:
        path = hour_path(lake_dir, asset, hour)
        if path.exists():
            paths.append(str(path))
        hour += timedelta(hours=1)
    return paths


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> None:
    """Run a COPY into ``target``; a full disk is named as such, with the file that could not be written:
    the lake's, or one of DuckDB's spill files (SENTINEL_HOME/duckdb_tmp) when the work outgrew memory."""
    try:
        con.execute(sql)
    except (duckdb.IOException, OSError) as exc:
        if "No space left on device" not in str(exc):
            raise
        named = re.search(r'file "([^"]+)"', str(exc))
        disk = "DuckDB's spill directory" if named and "duckdb_temp" in named[1] else "the lake's disk"
        raise SentinelError(
            f"{target}: no space left on {disk} ({named[1] if named else target}); nothing of this run was "
            f"marked done. Free space (or grow the volume) and the next run writes these hours again"
        ) from exc


def write_parquet(con: duckdb.DuckDBPyConnection, select_sql: str, path: Path) -> None:
    """Write the query's rows to ``path``: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _copy(con, f"copy ({select_sql}) to {literal(tmp)} (format parquet, compression zstd)", path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_hours(con: duckdb.DuckDBPyConnection, table: str, columns: str, lake_dir: Path, asset: str,
                hours: list[datetime]) -> None:
    """Write each of ``hours`` of ``asset`` from ``table`` (which has an ``hour`` column): the ``columns``
    (a select list) of its rows of that hour. One partitioned COPY writes every hour (a COPY per hour read
    the table once per hour); each file is then moved into place, as ``write_parquet`` does. An hour with
    no rows gets an empty file."""
    base = lake_dir / asset
    scratch = base / f".write-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    utc = "timezone('UTC', hour)"
    try:
        scratch.mkdir(parents=True)
        _copy(con, f"""
            copy (select {columns}, strftime({utc}, '%Y-%m-%d') as day, strftime({utc}, '%H%M') as hhmm
                  from {table})
            to {literal(str(scratch))} (format parquet, compression zstd, partition_by (day, hhmm))
            """, base)
        for h in hours:
            target = hour_path(lake_dir, asset, h)
            written = sorted((scratch / f"day={target.parent.name}" / f"hhmm={target.stem}").glob("*.parquet"))
            if len(written) == 1:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(written[0], target)
            else:  # no rows (or, never seen, several files): written on its own
                write_parquet(con, f"select {columns} from {table} where hour = {literal(h)}", target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

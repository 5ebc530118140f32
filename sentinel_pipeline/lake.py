"""The Parquet lake: one object per asset and hourly partition, replaced atomically, in a local directory
or a bucket (``SENTINEL_LAKE_URL``, through ``sentinel_pipeline.storage``).

Layout: ``<lake>/<asset>/<YYYY-MM-DD>/<HHMM>.parquet``, named by the partition's start as a UTC instant, so
a reader can find an hour without knowing the partition time zone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import duckdb

from sentinel_pipeline.duck import literal
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.storage import Location


def hour_key(asset: str, hour: datetime) -> str:
    utc = hour.astimezone(timezone.utc)
    return f"{asset}/{utc.strftime('%Y-%m-%d')}/{utc.strftime('%H%M')}.parquet"


def existing_keys(lake: Location, asset: str, hours: list[datetime], lookback_hours: int = 0) -> list[str]:
    """The keys of ``asset`` that exist for every hour from ``lookback_hours`` before the first of ``hours``
    to the last of them, in hour order: one listing per day (a HEAD per hour cost more on a bucket)."""
    first, last = min(hours) - timedelta(hours=lookback_hours), max(hours)
    wanted = set()
    hour = first
    while hour <= last:
        wanted.add(hour_key(asset, hour))
        hour += timedelta(hours=1)
    days = sorted({key.rsplit("/", 1)[0] for key in wanted})
    return sorted(e.key for day in days for e in lake.list(f"{day}/") if e.key in wanted)


def existing_urls(lake: Location, asset: str, hours: list[datetime], lookback_hours: int = 0) -> list[str]:
    """``existing_keys`` as the URLs DuckDB reads (``storage.prepare_duckdb`` for a bucket)."""
    return [lake.url(key) for key in existing_keys(lake, asset, hours, lookback_hours)]


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: str) -> None:
    """Run a COPY into ``target``; a full disk is named as such, with the file that could not be written:
    the lake's (or the local staging of a bucket's), or one of DuckDB's spill files (SENTINEL_HOME/duckdb_tmp)
    when the work outgrew memory."""
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


def write_hours(con: duckdb.DuckDBPyConnection, table: str, columns: str, lake: Location, asset: str,
                hours: list[datetime]) -> None:
    """Write each of ``hours`` of ``asset`` from ``table`` (which has an ``hour`` column): the ``columns``
    (a select list) of its rows of that hour. One partitioned COPY writes every hour into a local staging
    directory (a COPY per hour read the table once per hour); each file is then moved into place on its
    own, atomically (``Location.move_in``: a rename on disk, one upload to the final key in a bucket). An
    hour with no rows gets an empty file."""
    utc = "timezone('UTC', hour)"
    with lake.staging(asset) as scratch:
        _copy(con, f"""
            copy (select {columns}, strftime({utc}, '%Y-%m-%d') as day, strftime({utc}, '%H%M') as hhmm
                  from {table})
            to {literal(str(scratch))} (format parquet, compression zstd, partition_by (day, hhmm))
            """, lake.url(asset))
        for h in hours:
            key = hour_key(asset, h)
            day, name = key.split("/")[-2:]
            written = sorted((scratch / f"day={day}" / f"hhmm={name.removesuffix('.parquet')}").glob("*.parquet"))
            if len(written) == 1:
                lake.move_in(written[0], key)
            else:  # no rows (or, never seen, several files): written on its own
                lake.write_parquet(con, f"select {columns} from {table} where hour = {literal(h)}", key)

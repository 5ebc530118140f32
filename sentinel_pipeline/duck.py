"""DuckDB sessions, and the one way to put a value into DuckDB SQL.

Every SQL builder in Sentinel writes values with ``literal`` and column names with ``ident``, so that a
value from settings, run config or a path (a lake directory holding a quote, say) can never change the
statement's meaning.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from sentinel_pipeline import storage
from sentinel_pipeline.settings import Settings


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by the configured memory limit (DuckDB's default, 80 % of the machine's
    memory, when none is), spilling under SENTINEL_HOME.

    Use it as a context manager (``with duck.connect(settings) as con:``) so that it is closed on every
    path, errors included. Times without an offset are read in the source time zone. A lake in a bucket
    is readable and writable by its ``s3://`` URLs (``storage.prepare_duckdb``).
    """
    spill = settings.home / "duckdb_tmp"
    spill.mkdir(parents=True, exist_ok=True)
    config = {"temp_directory": str(spill)}
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    con = duckdb.connect(config=config)
    # Not in the connect config: the time-zone extension loads only once the connection exists.
    con.execute("set TimeZone = ?", [settings.source_timezone])
    con.execute("set enable_progress_bar = false")
    storage.prepare_duckdb(con, settings.lake)
    return con


def literal(value) -> str:
    """A DuckDB literal: strings and paths quoted, datetimes as ``timestamptz``, lists as lists."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime has no instant: {value!r}")
        return f"timestamptz '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, (str, Path)):
        return "'" + str(value).replace("'", "''") + "'"
    raise TypeError(f"no DuckDB literal for {type(value).__name__}: {value!r}")


def ident(name: str) -> str:
    """A quoted identifier (a file's own column names can be anything)."""
    return '"' + name.replace('"', '""') + '"'


def hour_sql(column: str, settings: Settings) -> str:
    """The start of the partition hour holding the instant ``column``.

    Plain arithmetic on epoch seconds (time-zone functions cost seconds per 10M rows): hour boundaries
    of the partition time zone sit at a fixed number of seconds past each UTC hour (1800 for
    Asia/Kolkata, 0 for most zones).
    """
    offset = settings.partition_hour_offset_seconds
    return f"to_timestamp((epoch({column})::bigint - {offset}) // 3600 * 3600 + {offset})"

"""Reading one CDR file as normalised rows: DuckDB's fast reader first, the line-by-line reader when
DuckDB refuses the file."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from sentinel_pipeline.cdr.layouts import FileLayout, detect_layout
from sentinel_pipeline.cdr.lines import lenient_table
from sentinel_pipeline.cdr.normalise import canonical_select, normalise_sql
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.settings import Settings

def read_file_sql(
    con: duckdb.DuckDBPyConnection, path: Path, file_id: int, settings: Settings, *, lenient: bool = False
) -> tuple[FileLayout, str]:
    """The layout of ``path`` and SQL for its normalised rows (see ``normalise_sql``).

    ``lenient``: read a CSV file line by line (``lenient_table``) instead of with DuckDB's reader.
    """
    layout = detect_layout(con, path, settings)
    if (lenient or layout.needs_lenient) and layout.format == "csv":
        layout = lenient_table(con, path, layout, file_id)
    return layout, normalise_sql(canonical_select(path, layout, file_id), settings)


T = TypeVar("T")


def with_file_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_id: int,
    settings: Settings,
    run: Callable[[str], T],
    *,
    lenient: bool = False,
) -> tuple[FileLayout, T]:
    """``run(sql)`` on the normalised rows of ``path``: DuckDB's fast CSV reader first and, when it fails
    on the file (bad quoting, wrong column count, bad UTF-8, an over-long line), the line-by-line reader,
    which rejects just the broken lines. ``run`` must leave nothing behind when it raises (one statement).
    Raises ``UnreadableFile`` for a file that cannot be read at all. ``lenient``: go straight to the
    line-by-line reader (for a file whose lines DuckDB would misnumber, see ``count_lines``).
    """
    layout, sql = read_file_sql(con, path, file_id, settings, lenient=lenient)
    if layout.table is None:
        try:
            return layout, run(sql)
        except duckdb.Error as exc:
            if layout.format != "csv":
                raise UnreadableFile(path, f"cannot be read as {layout.format}: {str(exc).splitlines()[0]}") from None
        layout, sql = read_file_sql(con, path, file_id, settings, lenient=True)
    try:
        return layout, run(sql)
    finally:
        con.execute(f"drop table if exists {layout.table}")



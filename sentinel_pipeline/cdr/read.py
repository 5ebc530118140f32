"""Reading one CDR file as canonical rows: DuckDB's fast reader first, the line-by-line reader when
DuckDB refuses the file; and a file's fully normalised rows, for one-off reading (tests, by hand)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from sentinel_pipeline.cdr.layouts import FileLayout, detect_layout
from sentinel_pipeline.cdr.lines import lenient_table
from sentinel_pipeline.cdr.normalise import canonical_select, typed_sql
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.numbers import normalise_numbers
from sentinel_pipeline.settings import Settings

T = TypeVar("T")
_NAMES = itertools.count()


def read_file_sql(
    con: duckdb.DuckDBPyConnection, path: Path, file_id: int, settings: Settings, *, lenient: bool = False,
    layout: FileLayout | None = None,
) -> tuple[FileLayout, str]:
    """The layout of ``path`` (detected unless given) and SQL for its canonical text rows
    (``canonical_select``). ``lenient``: read a CSV file line by line (``lenient_table``) instead of with
    DuckDB's reader."""
    layout = layout or detect_layout(con, path, settings)
    if (lenient or layout.needs_lenient) and layout.format == "csv":
        layout = lenient_table(con, path, layout, file_id)
    return layout, canonical_select(path, layout, file_id)


def with_file_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_id: int,
    settings: Settings,
    run: Callable[[str], T],
    *,
    lenient: bool = False,
    layout: FileLayout | None = None,
) -> tuple[FileLayout, T]:
    """``run(sql)`` on the canonical rows of ``path``: DuckDB's fast CSV reader first and, when it fails
    on the file (bad quoting, wrong column count, bad UTF-8, an over-long line), the line-by-line reader,
    which rejects just the broken lines. ``run`` must leave nothing behind when it raises (one statement).
    Raises ``UnreadableFile`` for a file that cannot be read at all. ``lenient``: go straight to the
    line-by-line reader (for a file whose lines DuckDB would misnumber, see ``count_lines``).
    """
    layout, sql = read_file_sql(con, path, file_id, settings, lenient=lenient, layout=layout)
    if layout.table is None:
        try:
            return layout, run(sql)
        except duckdb.Error as exc:
            if layout.format != "csv":
                raise UnreadableFile(path, f"cannot be read as {layout.format}: {str(exc).splitlines()[0]}") from None
        layout, sql = read_file_sql(con, path, file_id, settings, lenient=True, layout=layout)
    try:
        return layout, run(sql)
    finally:
        con.execute(f"drop table if exists {layout.table}")


def normalised_file_sql(con: duckdb.DuckDBPyConnection, path: Path, file_id: int, settings: Settings, *,
                        lenient: bool = False) -> str:
    """SQL for the normalised rows (``schema.STAGED_COLUMNS``) of one file, read now into temp tables of
    this session: the canonical rows and the dictionary of their numbers. ``lenient`` as for
    ``with_file_rows``."""
    name = f"file_rows_{next(_NAMES)}"
    with_file_rows(con, path, file_id, settings, lambda sql: con.execute(f"create temp table {name} as {sql}"),
                   lenient=lenient)
    numbers = normalise_numbers(con, f"(select a_number from {name} union select b_number from {name})", settings,
                                output=f"{name}_numbers", assume_distinct=True)
    return typed_sql(f"select * from {name}", numbers, settings)

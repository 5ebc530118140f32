"""The line-by-line CSV reader: for files DuckDB's reader refuses as a whole.

Each physical line is one record (CDR fields never hold line breaks), so one broken line cannot swallow
the ones after it: it becomes a row holding only its line number, the reason and its raw text, and the
good lines go on. The slow path: DuckDB's reader takes every file it can.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import duckdb

from sentinel_pipeline.cdr.layouts import MAX_LINE_BYTES, FileLayout, decode_line, io_reason, open_lines, read_header
from sentinel_pipeline.duck import ident, literal
from sentinel_pipeline.errors import UnreadableFile

# A rejected row's raw text is cut to this.
MAX_RAW_CHARS = 2_000

# The line-by-line reader's extra columns (names no CDR layout uses).
LINE_COLUMN, ERROR_COLUMN, RAW_COLUMN = "__sentinel_line", "__sentinel_error", "__sentinel_raw"


_TABLE_NUMBERS = itertools.count()


def count_lines(path: Path) -> int:
    """Physical lines in the file (a last line without a newline counts). DuckDB's reader skips blank
    lines and joins quoted line breaks, so its row numbers are line numbers only when this equals
    rows + 1 (the header); otherwise the file is read line by line."""
    lines, last = 0, b"\n"
    with open_lines(path) as fh:
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def lenient_table(con: duckdb.DuckDBPyConnection, path: Path, layout: FileLayout, file_id: int) -> FileLayout:
    """Read a CSV file with Python's csv module into a temp table of text columns, one row per line.

    Each physical line is one record (CDR fields never hold line breaks), so one broken line cannot
    swallow the ones after it. A line that cannot be parsed (bad quoting, wrong number of fields,
    invalid UTF-8, longer than MAX_LINE_BYTES) becomes a row holding only its line number, the reason
    and its raw text. The slow path: used only for files DuckDB's reader refuses.
    """
    import pyarrow as pa

    names, delimiter = read_header(path)
    width = len(names)
    # Python only finds the broken lines; DuckDB splits the good ones into fields (fast). A line with
    # quotes is split by Python's csv module, which knows the quoting rules.
    lines: list[int] = []
    errors: list[str | None] = []
    raws: list[str] = []
    parsed: list[list[str] | None] = []

    def add(line: int, reason: str | None, raw: str, record: list[str] | None = None) -> None:
        lines.append(line)
        errors.append(reason)
        raws.append(raw if reason is None else raw[:MAX_RAW_CHARS])
        parsed.append(record)

    csv.field_size_limit(MAX_LINE_BYTES)
    try:
        with open_lines(path) as fh:
            fh.readline(MAX_LINE_BYTES + 1)  # the header, read by _read_header
            n = 1
            while True:
                chunk = fh.readline(MAX_LINE_BYTES + 1)
                if not chunk:
                    break
                n += 1
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    head = chunk[:MAX_RAW_CHARS].decode("utf-8", errors="replace")
                    while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line
                        chunk = fh.readline(MAX_LINE_BYTES + 1)
                    add(n, f"line longer than {MAX_LINE_BYTES} bytes", head)
                    continue
                if not chunk.strip():  # ASCII white space only: a blank line is not a record
                    continue
                text, utf8 = decode_line(chunk)
                text = text.rstrip("\r\n")
                if not utf8:
                    add(n, "line is not valid UTF-8", text)
                    continue
                record = None
                if '"' not in text and "\r" not in text:  # most lines: nothing for csv to unquote
                    fields = text.count(delimiter) + 1
                else:
                    try:
                        record = next(csv.reader([text], delimiter=delimiter, strict=True))
                    except csv.Error as exc:
                        add(n, f"malformed CSV: {exc}", text)
                        continue
                    fields = len(record)
                if fields != width:
                    add(n, f"wrong number of fields: expected {width}, got {fields}", text)
                    continue
                add(n, None, text, record)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(path, io_reason(exc)) from None

    columns = _unique_names(names)
    table = pa.table({
        LINE_COLUMN: pa.array(lines, pa.int64()),
        ERROR_COLUMN: pa.array(errors, pa.string()),
        RAW_COLUMN: pa.array(raws, pa.string()),
        "__sentinel_fields": pa.array(parsed, pa.list_(pa.string())),
    })
    name = f"lenient_{abs(file_id)}_{next(_TABLE_NUMBERS)}"
    con.register(f"{name}_arrow", table)
    split = f"string_split({RAW_COLUMN}, {literal(delimiter)})"
    parts = ", ".join(
        f"case when {ERROR_COLUMN} is null then parts[{i + 1}] end as {ident(c)}" for i, c in enumerate(columns)
    )
    con.execute(
        f"""
        create temp table {name} as
        select {parts}, {LINE_COLUMN}, {ERROR_COLUMN}, {RAW_COLUMN}
        from (select *, coalesce(__sentinel_fields, {split}) as parts from {name}_arrow)
        """
    )
    con.unregister(f"{name}_arrow")
    renamed = dict(zip(names, columns))
    return FileLayout(
        layout.format, layout.layout, {c: renamed.get(n, n) for c, n in layout.columns.items()},
        layout.extra_columns, table=name,
    )


def _unique_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for i, n in enumerate(names):
        candidate = n if n and n not in seen else f"{n or 'column'}_{i}"
        seen.add(candidate)
        result.append(candidate)
    return result



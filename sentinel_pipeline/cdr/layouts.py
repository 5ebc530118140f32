"""Which files and columns Sentinel accepts: file formats, the canonical and legacy layouts, the
operator's column map, and the header of a CSV file.

A file's layout says which of its columns hold which canonical column; ``normalise.py`` turns the
columns of a layout into clean rows.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from sentinel_pipeline.duck import literal
from sentinel_pipeline.errors import SentinelError, UnreadableFile
from sentinel_pipeline.settings import Settings

CDR_SUFFIXES = (".csv", ".csv.gz", ".parquet")


CANONICAL_REQUIRED = ("record_id", "seizure_time", "duration_s", "a_number", "b_number")


CANONICAL_OPTIONAL = (
    "answer_time",
    "record_type",
    "trunk_in",
    "trunk_out",
    "imsi",
    "imei",
    "cell_id",
    "release_cause",
    "service",
)


# The original Sentinel engine's CSV export, accepted as is.
LEGACY_COLUMNS = (
    "call_date",
    "call_time",
    "caller_number",
    "callee_number",
    "duration_seconds",
    "call_direction",
    "termination_cause",
    "location_code",
)


LEGACY_REQUIRED = ("call_date", "call_time", "caller_number", "callee_number", "duration_seconds")


# A longer line is rejected (DuckDB's own limit is 2 MB).
MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True)
class FileLayout:
    format: str  # "csv" or "parquet"
    layout: str  # "canonical", "legacy" or the name of a layout in the column map
    columns: dict[str, str]  # canonical/legacy name -> the column's name in the file
    extra_columns: tuple[str, ...] = ()  # columns of the file no layout column uses: ignored, reported
    delimiter: str = ","
    # DuckDB's reader cannot take the file as a whole: read it line by line (``lines.lenient_table``).
    needs_lenient: bool = False
    # Set when the file is read line by line: the temp table holding its rows.
    table: str | None = None


def layout_key(layout: FileLayout) -> tuple:
    """Files with equal keys can be read in one DuckDB scan."""
    return layout.format, layout.layout, layout.delimiter, tuple(sorted(layout.columns.items()))


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    return None


def scan_sql(path: Path | list[Path], fmt: str, delimiter: str = ",") -> str:
    """A DuckDB scan of one file, or of several files of one layout (read in list order)."""
    files = literal([str(p) for p in path]) if isinstance(path, list) else literal(str(path))
    if fmt == "parquet":
        return f"read_parquet({files})"
    # Every column as text: types are checked row by row, so one bad value rejects one row. The dialect
    # is fixed rather than sniffed, so a broken line fails the read (and the file is then read line by
    # line) instead of making the sniffer guess another dialect for the whole file.
    return (
        f"read_csv({files}, header = true, all_varchar = true, delim = {literal(delimiter)}, "
        f"quote = '\"', escape = '\"')"
    )


def _column_key(name: str) -> str:
    return "_".join(name.strip().lower().split())


def detect_layout(con: duckdb.DuckDBPyConnection, path: Path, settings: Settings | None = None) -> FileLayout:
    fmt = file_format(path)
    if fmt is None:
        raise UnreadableFile(path, f"not a CDR file (expected one of {', '.join(CDR_SUFFIXES)})")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFile(path, "no longer exists") from None
    if size == 0:
        raise UnreadableFile(path, "empty file (0 bytes)")
    mapped = column_map(settings)
    if fmt == "parquet":
        try:
            names = con.sql(f"select * from {scan_sql(path, fmt)} limit 0").columns
        except duckdb.Error as exc:
            raise UnreadableFile(path, f"cannot be read as {fmt}: {str(exc).splitlines()[0]}") from None
        return match_layout(path, fmt, names, mapped)
    # The header line, read by Python: it names encoding and compression problems clearly.
    header, delimiter = read_header(path)
    try:
        names = con.sql(f"select * from {scan_sql(path, fmt, delimiter)} limit 0").columns
    except duckdb.Error:
        names = None
    if names is not None:
        try:
            return replace(match_layout(path, fmt, names, mapped), delimiter=delimiter)
        except UnreadableFile:
            pass
    # DuckDB could not read the header as the layout: the line-by-line reader decides.
    return replace(match_layout(path, fmt, header, mapped), delimiter=delimiter, needs_lenient=True)


def match_layout(path: Path, fmt: str, names: list[str], mapped: dict[str, dict[str, str]]) -> FileLayout:
    """The first layout whose required columns the file has: canonical, legacy, then the column map's."""
    by_key: dict[str, str] = {}
    for n in names:
        by_key.setdefault(_column_key(n), n)
    candidates: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
        ("canonical", {c: c for c in CANONICAL_REQUIRED + CANONICAL_OPTIONAL}, CANONICAL_REQUIRED),
        ("legacy", {c: c for c in LEGACY_COLUMNS}, LEGACY_REQUIRED),
    ]
    for name, columns in mapped.items():
        candidates.append((name, columns, CANONICAL_REQUIRED))
    for layout, columns, required in candidates:
        keys = {c: _column_key(n) for c, n in columns.items()}
        if all(keys.get(c) in by_key for c in required):
            used = {c: by_key[k] for c, k in keys.items() if k in by_key}
            extra = tuple(n for n in names if n not in used.values())
            return FileLayout(fmt, layout, used, extra)
    missing = [c for c in CANONICAL_REQUIRED if c not in by_key]
    raise UnreadableFile(path, f"missing required columns: {', '.join(missing)} (found: {', '.join(names)})")


def column_map(settings: Settings | None) -> dict[str, dict[str, str]]:
    """The operator's extra layouts from SENTINEL_COLUMN_MAP (see docs/data-quality.md): name -> columns."""
    if settings is None or settings.column_map is None:
        return {}
    return _load_column_map(str(settings.column_map))


_COLUMN_MAPS: dict[tuple[str, float], dict[str, dict[str, str]]] = {}


def _load_column_map(path: str) -> dict[str, dict[str, str]]:
    try:
        key = (path, Path(path).stat().st_mtime)
    except FileNotFoundError:
        raise SentinelError(f"SENTINEL_COLUMN_MAP: {path} does not exist") from None
    if key not in _COLUMN_MAPS:
        import yaml

        with open(path) as fh:
            doc = yaml.safe_load(fh) or {}
        layouts = doc.get("layouts") if isinstance(doc, dict) else None
        if not isinstance(layouts, dict):
            raise SentinelError(f"{path}: expected a mapping 'layouts: {{name: {{canonical column: file column}}}}'")
        known = set(CANONICAL_REQUIRED + CANONICAL_OPTIONAL)
        result = {}
        for name, columns in layouts.items():
            if name in ("canonical", "legacy") or not isinstance(columns, dict):
                raise SentinelError(f"{path}: layout {name!r} must be a new name mapping canonical columns to file columns")
            unknown = set(columns) - known
            missing = set(CANONICAL_REQUIRED) - set(columns)
            if unknown or missing:
                raise SentinelError(
                    f"{path}: layout {name!r}: "
                    + "; ".join(
                        part
                        for part in (
                            f"unknown canonical columns {sorted(unknown)}" if unknown else "",
                            f"required columns not mapped {sorted(missing)}" if missing else "",
                        )
                        if part
                    )
                )
            result[str(name)] = {str(c): str(n) for c, n in columns.items()}
        _COLUMN_MAPS[key] = result
    return _COLUMN_MAPS[key]


def column_map_fingerprint(settings: Settings) -> str | None:
    """A stable digest of the column map, so that editing it rebuilds the hours it affects."""
    return repr(sorted((k, sorted(v.items())) for k, v in column_map(settings).items())) if settings.column_map else None


def open_lines(path: Path):
    """The file as bytes, gunzipped for .gz: its physical lines with ``readline``."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def decode_line(line: bytes) -> tuple[str, bool]:
    try:
        return line.decode("utf-8"), True
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace"), False


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "|", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def first_line(path: Path) -> bytes:
    """The file's first line as bytes (the header of a CSV file)."""
    try:
        with open_lines(path) as fh:
            return fh.readline(MAX_LINE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(path, io_reason(exc)) from None


def read_header(path: Path) -> tuple[list[str], str]:
    """The column names in the header line and the delimiter they are separated by."""
    first = first_line(path)
    if not first.strip():
        raise UnreadableFile(path, "no header line (empty first line)")
    if b"\x00" in first:
        raise UnreadableFile(path, "not UTF-8 text (NUL bytes in the header: UTF-16 or binary?)")
    text, ok = decode_line(first.removeprefix(b"\xef\xbb\xbf"))
    if not ok:
        raise UnreadableFile(path, "the header is not valid UTF-8 (wrong encoding?)")
    text = text.rstrip("\r\n")
    delimiter = _delimiter(text)
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True)), delimiter
    except csv.Error as exc:
        raise UnreadableFile(path, f"the header cannot be parsed as CSV: {exc}") from None


def io_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated gzip: the compressed data ends before its end marker"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip file: {exc}"
    return f"cannot be read: {exc}"



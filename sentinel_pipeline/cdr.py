"""The CDR input contract: which files and columns Sentinel accepts, and how a file becomes clean rows.

A file is read with DuckDB as text (every column VARCHAR), mapped onto the canonical columns, and
then normalised in SQL: numbers to E.164, times to UTC instants, a reject reason for every row that
cannot be used. Nothing here writes anywhere; ``ingest.py`` decides where rows go.
"""

from __future__ import annotations

import csv
import gzip
import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from sentinel_pipeline.errors import SentinelError
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
RECORD_TYPES = ("MOC", "MTC", "IGW_IN", "IGW_OUT", "TRANSIT")
ORIGINATING_RECORD_TYPES = ("MOC", "IGW_IN", "TRANSIT")

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

MAX_DURATION_S = 86_400
# A seizure_time later than this past the moment of reading is a clock error, not a call.
MAX_CLOCK_AHEAD = "1 day"
# A longer line is rejected (DuckDB's own limit is 2 MB); a rejected row's raw text is cut to this.
MAX_LINE_BYTES = 1_000_000
MAX_RAW_CHARS = 2_000

# The columns ``normalise_sql`` yields, as DuckDB DDL.
NORMALISED_SCHEMA = """
    record_id varchar, seizure_time timestamptz, answer_time timestamptz, duration_s integer,
    a_number varchar, a_number_raw varchar, a_valid boolean,
    b_number varchar, b_number_raw varchar, b_valid boolean,
    record_type varchar, trunk_in varchar, trunk_out varchar, imsi varchar, imei varchar, cell_id varchar,
    release_cause smallint, service varchar, file_id bigint, line bigint, hour timestamptz,
    reject_reason varchar, src_text varchar
"""


class UnreadableFile(SentinelError):
    """A file that cannot be read as CDRs at all (not rows of it: the whole file)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class FileLayout:
    format: str  # "csv" or "parquet"
    layout: str  # "canonical", "legacy" or the name of a layout in the column map
    columns: dict[str, str]  # canonical/legacy name -> the column's name in the file
    extra_columns: tuple[str, ...] = ()  # columns of the file no layout column uses: ignored, reported
    delimiter: str = ","
    # DuckDB's reader cannot take the file as a whole: read it line by line (``lenient_table``).
    needs_lenient: bool = False
    # Set when the file is read line by line: the temp table holding its rows.
    table: str | None = None


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    return None


def _scan_sql(path: Path | list[Path], fmt: str, delimiter: str = ",") -> str:
    """A DuckDB scan of one file, or of several files of one layout (read in list order)."""
    if isinstance(path, list):
        literal = "[" + ", ".join(_sql_string(str(p)) for p in path) + "]"
    else:
        literal = _sql_string(str(path))
    if fmt == "parquet":
        return f"read_parquet({literal})"
    # Every column as text: types are checked row by row below, so one bad value rejects one row.
    # The dialect is fixed rather than sniffed, so a broken line fails the read (and the file is then
    # read line by line) instead of making the sniffer guess another dialect for the whole file.
    return (
        f"read_csv({literal}, header = true, all_varchar = true, delim = {_sql_string(delimiter)}, "
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
            names = con.sql(f"select * from {_scan_sql(path, fmt)} limit 0").columns
        except duckdb.Error as exc:
            raise UnreadableFile(path, f"cannot be read as {fmt}: {str(exc).splitlines()[0]}") from None
        return match_layout(path, fmt, names, mapped)
    # The header line, read by Python: it names encoding and compression problems clearly.
    header, delimiter = _read_header(path)
    try:
        names = con.sql(f"select * from {_scan_sql(path, fmt, delimiter)} limit 0").columns
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


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(layout: FileLayout, name: str) -> str:
    """The file's column as trimmed text, or NULL when the file does not have it."""
    if name not in layout.columns:
        return "null::varchar"
    return f"nullif(trim(cast({_ident(layout.columns[name])} as varchar)), '')"


def _canonical_columns(layout: FileLayout) -> str:
    """The select list mapping a file's columns onto the canonical ones, as text."""
    t = lambda name: _text(layout, name)  # noqa: E731
    if layout.layout != "legacy":  # canonical, or a column-map layout naming canonical columns
        columns = {name: t(name) for name in CANONICAL_REQUIRED + CANONICAL_OPTIONAL}
    else:
        direction = f"upper({t('call_direction')})"
        columns = {
            # The original layout has no record id: a digest of the call's fields stands in, so the
            # same call delivered twice is still one call.
            "record_id": "'legacy-' || md5(concat_ws('|', {}, {}, {}, {}, {}))".format(
                t("call_date"), t("call_time"), t("caller_number"), t("callee_number"), t("duration_seconds")
            ),
            "seizure_time": f"{t('call_date')} || ' ' || {t('call_time')}",
            "duration_s": t("duration_seconds"),
            "a_number": t("caller_number"),
            "b_number": t("callee_number"),
            "answer_time": "null::varchar",
            "record_type": f"case when {direction} in ('IN', 'INCOMING', 'MT', 'MTC') then 'MTC' "
            f"when {direction} is null or {direction} in ('OUT', 'OUTGOING', 'MO', 'MOC') then 'MOC' "
            f"else {direction} end",
            "trunk_in": "null::varchar",
            "trunk_out": "null::varchar",
            "imsi": "null::varchar",
            "imei": "null::varchar",
            "cell_id": t("location_code"),
            "release_cause": t("termination_cause"),
            "service": "null::varchar",
        }
    return ",\n    ".join(f"{expr} as {name}" for name, expr in columns.items())


def canonical_select(path: Path, layout: FileLayout, file_id: int) -> str:
    """SQL yielding the canonical columns as text, plus file_id and the 1-based line in the file."""
    select = _canonical_columns(layout)
    if layout.table:  # read line by line: the reader numbered the lines and named unparseable ones
        return (
            f"select\n    {select},\n    {file_id}::bigint as file_id,\n"
            f"    {LINE_COLUMN} as line, {ERROR_COLUMN} as parse_error, {RAW_COLUMN} as raw_line\n"
            f"from {layout.table}"
        )
    # Line 1 is the header; DuckDB scans keep file order, so row_number() is the record's position.
    return (
        f"select\n    {select},\n    {file_id}::bigint as file_id,\n"
        f"    row_number() over () + 1 as line, null::varchar as parse_error, null::varchar as raw_line\n"
        f"from {_scan_sql(path, layout.format, layout.delimiter)}"
    )


def canonical_select_files(paths: list[Path], layout: FileLayout, file_ids: list[int], rows: list[int]) -> str:
    """``canonical_select`` over several files of one layout in a single scan (far faster than a scan
    per file). DuckDB reads the files in list order and keeps that order, so a record's line is its
    position in the scan less the records of the files before it (``rows``: each file's record count,
    as counted when it was registered) plus one for the header."""
    before = [0]
    for n in rows[:-1]:
        before.append(before[-1] + n)
    ids = "[" + ", ".join(str(i) for i in file_ids) + "]"
    offsets = "[" + ", ".join(str(n) for n in before) + "]"
    return (
        f"select\n    {_canonical_columns(layout)},\n"
        f"    {ids}[file_index::bigint + 1]::bigint as file_id,\n"
        f"    row_number() over () - {offsets}[file_index::bigint + 1] + 1 as line,\n"
        f"    null::varchar as parse_error, null::varchar as raw_line\n"
        f"from {_scan_sql(list(paths), layout.format, layout.delimiter)}"
    )


def e164_sql(column: str, settings: Settings) -> str:
    """E.164 (with leading '+') for a cleaned number column; the cleaned value itself if it is not digits."""
    cc = settings.country_code
    branches = [f"when not regexp_full_match({column}, '\\+?[0-9]+') then {column}",
                f"when starts_with({column}, '+') then {column}"]
    for prefix in settings.international_prefixes:
        branches.append(f"when starts_with({column}, '{prefix}') then '+' || {column}[{len(prefix) + 1}:]")
    if settings.national_prefix:
        np = settings.national_prefix
        branches.append(f"when starts_with({column}, '{np}') then '+{cc}' || {column}[{len(np) + 1}:]")
    # Bare digits: country code plus a full national number, or a national number without its prefix.
    branches.append(f"when starts_with({column}, '{cc}') and length({column}) >= {len(cc) + 8} then '+' || {column}")
    branches.append(f"else '+{cc}' || {column}")
    return f"case when {column} is null then null\n        " + "\n        ".join(branches) + "\n    end"


def normalise_sql(source_sql: str, settings: Settings) -> str:
    """Typed, normalised CDRs from the canonical text columns, with ``reject_reason`` NULL for good rows.

    The DuckDB session's TimeZone must be the source time zone: a time without an offset is read in it.
    A row whose time is unreadable, before the first partition or in the future has a NULL ``hour``.
    """
    first = f"timestamptz '{settings.partitions_start_at.isoformat()}'"
    return f"""
with src as ({source_sql}),
cleaned as (
    select *,
        regexp_replace(a_number, '[\\s().\\-/]', '', 'g') as a_clean,
        regexp_replace(b_number, '[\\s().\\-/]', '', 'g') as b_clean,
        try_cast(seizure_time as timestamptz) as seizure_ts,
        try_cast(answer_time as timestamptz) as answer_ts,
        -- Whole seconds only: try_cast would round '4.5' silently.
        case when regexp_full_match(duration_s, '-?[0-9]+') then try_cast(duration_s as bigint) end as duration_int,
        coalesce(upper(record_type), 'MOC') as record_type_norm
    from src
),
normalised as (
    select *,
        {e164_sql('a_clean', settings)} as a_e164,
        {e164_sql('b_clean', settings)} as b_e164,
        -- Far-past (before the first partition) and far-future times have no partition to go to.
        seizure_ts < {first} as before_partitions,
        seizure_ts > now() + interval '{MAX_CLOCK_AHEAD}' as in_future
    from cleaned
),
checked as (
select
    record_id,
    seizure_ts as seizure_time,
    answer_ts as answer_time,
    try_cast(duration_int as integer) as duration_s,  -- a rejected absurd value may not fit
    a_e164 as a_number,
    a_number as a_number_raw,
    coalesce(regexp_full_match(a_e164, '\\+[1-9][0-9]{{6,14}}'), false) as a_valid,
    b_e164 as b_number,
    b_number as b_number_raw,
    coalesce(regexp_full_match(b_e164, '\\+[1-9][0-9]{{6,14}}'), false) as b_valid,
    record_type_norm as record_type,
    trunk_in,
    trunk_out,
    imsi,
    imei,
    cell_id,
    try_cast(release_cause as smallint) as release_cause,
    coalesce(lower(service), 'voice') as service,
    file_id,
    line,
    case when not (before_partitions or in_future) then {hour_sql('seizure_ts', settings)} end as hour,
    case
        when parse_error is not null then parse_error
        when record_id is null then 'record_id is missing'
        when seizure_time is null then 'seizure_time is missing'
        when seizure_ts is null then 'seizure_time is not an ISO-8601 time: ' || seizure_time
        when before_partitions then 'seizure_time is before the first partition ({settings.partitions_start}): ' || seizure_time
        when in_future then 'seizure_time is more than {MAX_CLOCK_AHEAD} in the future: ' || seizure_time
        when duration_s is null then 'duration_s is missing'
        when duration_int is null then 'duration_s is not a whole number: ' || duration_s
        when duration_int < 0 then 'duration_s is negative: ' || duration_s
        when duration_int > {MAX_DURATION_S} then 'duration_s is over {MAX_DURATION_S} (24 h): ' || duration_s
        when a_number is null then 'a_number is missing'
        when b_number is null then 'b_number is missing'
        when record_type_norm not in ({", ".join(_sql_string(r) for r in RECORD_TYPES)})
            then 'record_type is not one of {"/".join(RECORD_TYPES)}: ' || record_type
        when answer_time is not null and answer_ts is null
            then 'answer_time is not an ISO-8601 time: ' || answer_time
    end as reject_reason,
    raw_line,
    -- What the file said (as canonical columns), computed for rejected rows only.
    struct_pack({", ".join(f"{c} := {c}" for c in CANONICAL_REQUIRED + CANONICAL_OPTIONAL)}) as src_struct
from normalised
)
select * exclude (raw_line, src_struct),
    case when reject_reason is not null
        then left(coalesce(raw_line, to_json(src_struct)::varchar), {MAX_RAW_CHARS})
    end as src_text
from checked
"""


def hour_sql(column: str, settings: Settings) -> str:
    """The start of the partition hour holding the instant ``column``.

    Plain arithmetic on epoch seconds (time-zone functions cost seconds per 10M rows): hour boundaries
    of the partition time zone sit at a fixed number of seconds past each UTC hour (1800 for
    Asia/Kolkata, 0 for most zones).
    """
    offset = settings.partition_hour_offset_seconds
    return f"to_timestamp((epoch({column})::bigint - {offset}) // 3600 * 3600 + {offset})"


def connect_duckdb(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by the configured memory limit, spilling under SENTINEL_HOME."""
    spill = settings.home / "duckdb_tmp"
    spill.mkdir(parents=True, exist_ok=True)
    config = {
        "memory_limit": settings.duckdb_memory_limit,
        "temp_directory": str(spill),
    }
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    con = duckdb.connect(config=config)
    # Not in the connect config: the time-zone extension loads only once the connection exists.
    con.execute("set TimeZone = ?", [settings.source_timezone])
    con.execute("set enable_progress_bar = false")
    return con


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


def count_lines(path: Path) -> int:
    """Physical lines in the file (a last line without a newline counts). DuckDB's reader skips blank
    lines and joins quoted line breaks, so its row numbers are line numbers only when this equals
    rows + 1 (the header); otherwise the file is read line by line."""
    lines, last = 0, b"\n"
    with _open_text_lines(path) as fh:
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


_TABLE_NUMBERS = itertools.count()

# The line-by-line reader's extra columns (names no CDR layout uses).
LINE_COLUMN, ERROR_COLUMN, RAW_COLUMN = "__sentinel_line", "__sentinel_error", "__sentinel_raw"


def _open_text_lines(path: Path):
    """The file's physical lines as bytes (gunzipped for .gz)."""
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    return raw


def _decode(line: bytes) -> tuple[str, bool]:
    try:
        return line.decode("utf-8"), True
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace"), False


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "|", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_header(path: Path) -> tuple[list[str], str]:
    """The column names in the header line and the delimiter they are separated by."""
    try:
        with _open_text_lines(path) as fh:
            first = fh.readline(MAX_LINE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(path, _io_reason(exc)) from None
    if not first.strip():
        raise UnreadableFile(path, "no header line (empty first line)")
    if b"\x00" in first:
        raise UnreadableFile(path, "not UTF-8 text (NUL bytes in the header: UTF-16 or binary?)")
    text, ok = _decode(first.removeprefix(b"\xef\xbb\xbf"))
    if not ok:
        raise UnreadableFile(path, "the header is not valid UTF-8 (wrong encoding?)")
    text = text.rstrip("\r\n")
    delimiter = _delimiter(text)
    try:
        return next(csv.reader([text], delimiter=delimiter, strict=True)), delimiter
    except csv.Error as exc:
        raise UnreadableFile(path, f"the header cannot be parsed as CSV: {exc}") from None


def _io_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated gzip: the compressed data ends before its end marker"
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip file: {exc}"
    return f"cannot be read: {exc}"


def lenient_table(con: duckdb.DuckDBPyConnection, path: Path, layout: FileLayout, file_id: int) -> FileLayout:
    """Read a CSV file with Python's csv module into a temp table of text columns, one row per line.

    Each physical line is one record (CDR fields never hold line breaks), so one broken line cannot
    swallow the ones after it. A line that cannot be parsed (bad quoting, wrong number of fields,
    invalid UTF-8, longer than MAX_LINE_BYTES) becomes a row holding only its line number, the reason
    and its raw text. The slow path: used only for files DuckDB's reader refuses.
    """
    import pyarrow as pa

    names, delimiter = _read_header(path)
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
        with _open_text_lines(path) as fh:
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
                text, utf8 = _decode(chunk)
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
        raise UnreadableFile(path, _io_reason(exc)) from None

    columns = _unique_names(names)
    table = pa.table({
        LINE_COLUMN: pa.array(lines, pa.int64()),
        ERROR_COLUMN: pa.array(errors, pa.string()),
        RAW_COLUMN: pa.array(raws, pa.string()),
        "__sentinel_fields": pa.array(parsed, pa.list_(pa.string())),
    })
    name = f"lenient_{abs(file_id)}_{next(_TABLE_NUMBERS)}"
    con.register(f"{name}_arrow", table)
    split = f"string_split({RAW_COLUMN}, {_sql_string(delimiter)})"
    parts = ", ".join(
        f"case when {ERROR_COLUMN} is null then parts[{i + 1}] end as {_ident(c)}" for i, c in enumerate(columns)
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

"""The CDR input contract: which files and columns Sentinel accepts, and how a file becomes clean rows.

A file is read with DuckDB as text (every column VARCHAR), mapped onto the canonical columns, and
then normalised in SQL: numbers to E.164, times to UTC instants, a reject reason for every row that
cannot be used. Nothing here writes anywhere; ``ingest.py`` decides where rows go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    layout: str  # "canonical" or "legacy"
    columns: dict[str, str]  # canonical/legacy name -> the column's name in the file


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    return None


def _scan_sql(path: Path, fmt: str) -> str:
    literal = _sql_string(str(path))
    if fmt == "parquet":
        return f"read_parquet({literal})"
    # Every column as text: types are checked row by row below, so one bad value rejects one row.
    return f"read_csv({literal}, header = true, all_varchar = true)"


def _column_key(name: str) -> str:
    return "_".join(name.strip().lower().split())


def detect_layout(con: duckdb.DuckDBPyConnection, path: Path) -> FileLayout:
    fmt = file_format(path)
    if fmt is None:
        raise UnreadableFile(path, f"not a CDR file (expected one of {', '.join(CDR_SUFFIXES)})")
    try:
        names = con.sql(f"select * from {_scan_sql(path, fmt)} limit 0").columns
    except duckdb.Error as exc:
        raise UnreadableFile(path, f"cannot be read as {fmt}: {str(exc).splitlines()[0]}") from None
    by_key = {_column_key(n): n for n in names}
    if all(c in by_key for c in CANONICAL_REQUIRED):
        wanted, layout = CANONICAL_REQUIRED + CANONICAL_OPTIONAL, "canonical"
    elif all(c in by_key for c in LEGACY_REQUIRED):
        wanted, layout = LEGACY_COLUMNS, "legacy"
    else:
        missing = [c for c in CANONICAL_REQUIRED if c not in by_key]
        raise UnreadableFile(path, f"missing required columns: {', '.join(missing)} (found: {', '.join(names)})")
    return FileLayout(fmt, layout, {c: by_key[c] for c in wanted if c in by_key})


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(layout: FileLayout, name: str) -> str:
    """The file's column as trimmed text, or NULL when the file does not have it."""
    if name not in layout.columns:
        return "null::varchar"
    return f"nullif(trim(cast({_ident(layout.columns[name])} as varchar)), '')"


def canonical_select(path: Path, layout: FileLayout, file_id: int) -> str:
    """SQL yielding the canonical columns as text, plus file_id and the 1-based line in the file."""
    t = lambda name: _text(layout, name)  # noqa: E731
    if layout.layout == "canonical":
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
    select = ",\n    ".join(f"{expr} as {name}" for name, expr in columns.items())
    # Line 1 is the header; DuckDB scans keep file order, so row_number() is the record's position.
    return (
        f"select\n    {select},\n    {file_id}::bigint as file_id,\n"
        f"    row_number() over () + 1 as line\nfrom {_scan_sql(path, layout.format)}"
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
    """
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
        coalesce(upper(record_type), 'MOC') as record_type_norm,
        -- What the file said, kept with a rejected row (see ingest.py).
        to_json(src) as src_text
    from src
),
normalised as (
    select *,
        {e164_sql('a_clean', settings)} as a_e164,
        {e164_sql('b_clean', settings)} as b_e164
    from cleaned
)
select
    record_id,
    seizure_ts as seizure_time,
    answer_ts as answer_time,
    cast(duration_int as integer) as duration_s,
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
    {hour_sql('seizure_ts', settings)} as hour,
    case
        when record_id is null then 'record_id is missing'
        when seizure_time is null then 'seizure_time is missing'
        when seizure_ts is null then 'seizure_time is not an ISO-8601 time: ' || seizure_time
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
    src_text
from normalised
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


def read_file_sql(con: duckdb.DuckDBPyConnection, path: Path, file_id: int, settings: Settings) -> tuple[FileLayout, str]:
    """The layout of ``path`` and SQL for its normalised rows (see ``normalise_sql``)."""
    layout = detect_layout(con, path)
    return layout, normalise_sql(canonical_select(path, layout, file_id), settings)

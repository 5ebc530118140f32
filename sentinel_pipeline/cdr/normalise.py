"""From a file's columns to clean rows: the canonical mapping and the normalisation SQL.

A file is read by DuckDB as text (every column VARCHAR) and mapped onto the canonical columns
(``canonical_select``); the canonical rows of a run are then typed (``typed_sql``): times to UTC
instants, numbers to E.164 through the run's dictionary of distinct numbers (``sentinel_pipeline.numbers``:
each distinct raw number is read once, not once per row), and a reject reason for every row that cannot be
used. Nothing here writes anywhere; ``ingest.py`` decides where rows go.
"""

from __future__ import annotations

from pathlib import Path

from sentinel_pipeline import schema
from sentinel_pipeline.cdr.layouts import CANONICAL_OPTIONAL, CANONICAL_REQUIRED, FileLayout, scan_sql
from sentinel_pipeline.cdr.lines import ERROR_COLUMN, LINE_COLUMN, MAX_RAW_CHARS, RAW_COLUMN
from sentinel_pipeline.duck import hour_sql, ident, literal
from sentinel_pipeline.settings import Settings

MAX_DURATION_S = 86_400


# A seizure_time later than this past the moment of reading is a clock error, not a call.
MAX_CLOCK_AHEAD = "1 day"


def _text(layout: FileLayout, name: str) -> str:
    """The file's column as trimmed text, or NULL when the file does not have it."""
    if name not in layout.columns:
        return "null::varchar"
    return f"nullif(trim(cast({ident(layout.columns[name])} as varchar)), '')"


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


# The table of canonical text rows that ``canonical_select`` and ``canonical_select_files`` fill.
CANONICAL_TEXT_COLUMNS = ", ".join(
    [f"{c} varchar" for c in CANONICAL_REQUIRED + CANONICAL_OPTIONAL]
    + ["file_id bigint", "line bigint", "parse_error varchar", "raw_line varchar"]
)


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
        f"from {scan_sql(path, layout.format, layout.delimiter)}"
    )


def canonical_scan_sql(paths: list[Path], layout: FileLayout) -> str:
    """The canonical columns as text of several files of one layout in one scan, with ``file_index``
    (the file's position in ``paths``)."""
    return (f"select\n    {_canonical_columns(layout)},\n    file_index\n"
            f"from {scan_sql(list(paths), layout.format, layout.delimiter)}")


def canonical_of_table(table: str, layout: FileLayout, file_ids: list[int], rows: list[int]) -> str:
    """The canonical text rows of ``table``, which holds several files of one layout as DuckDB's reader
    read them (``select *, file_index from`` a scan of them, in list order). DuckDB keeps the scan's
    order when it fills a table, so a row's ``rowid`` is its position in the scan: its line is that less
    the records of the files before it (``rows``: each file's record count, as counted when it was
    registered) plus two (the header, and rowids count from 0). Cheaper than numbering rows with
    ``row_number() over ()``, which orders the whole scan in one thread."""
    before = [0]
    for n in rows[:-1]:
        before.append(before[-1] + n)
    ids = "[" + ", ".join(str(i) for i in file_ids) + "]"
    offsets = "[" + ", ".join(str(n) for n in before) + "]"
    return (
        f"select\n    {_canonical_columns(layout)},\n"
        f"    {ids}[file_index::bigint + 1]::bigint as file_id,\n"
        f"    rowid - {offsets}[file_index::bigint + 1] + 2 as line,\n"
        f"    null::varchar as parse_error, null::varchar as raw_line\n"
        f"from {table}"
    )


def seizure_instant_sql(column: str = "seizure_time") -> str:
    """The call's start as an instant; NULL when it is not an ISO-8601 time. The session's TimeZone must
    be the source time zone: a time without an offset is read in it."""
    return f"try_cast({column} as timestamptz)"


def hour_of_rows_sql(canonical_sql: str, settings: Settings, *, by_file: bool = False) -> str:
    """Per partition hour (NULL for rows with no usable time), how many rows ``canonical_sql`` holds:
    what registration needs of a file, without normalising anything else. ``by_file``: per
    ``file_index`` too (``canonical_scan_sql``)."""
    seizure = seizure_instant_sql()
    first = literal(settings.partitions_start_at)
    file_index = "file_index, " if by_file else ""
    return f"""
select {file_index}case when {seizure} >= {first} and {seizure} <= now() + interval '{MAX_CLOCK_AHEAD}'
            then {hour_sql(seizure, settings)} end as hour,
       count(*) as rows
from ({canonical_sql})
group by all
"""


def typed_sql(source: str, numbers: str, settings: Settings) -> str:
    """The staged rows (``schema.STAGED_COLUMNS``) from the canonical text rows of ``source`` and the
    number dictionary ``numbers`` (``sentinel_pipeline.numbers.normalise_numbers`` over their a_number and
    b_number values), with ``reject_reason`` NULL for good rows.

    The DuckDB session's TimeZone must be the source time zone: a time without an offset is read in it.
    A row whose time is unreadable, before the first partition or in the future has a NULL ``hour``.
    """
    first = literal(settings.partitions_start_at)
    return f"""
with src as ({source}),
cleaned as (
    select src.*,
        {seizure_instant_sql("src.seizure_time")} as seizure_ts,
        try_cast(src.answer_time as timestamptz) as answer_ts,
        -- Whole seconds only: try_cast would round '4.5' silently.
        case when regexp_full_match(src.duration_s, '-?[0-9]+') then try_cast(src.duration_s as bigint) end
            as duration_int,
        coalesce(upper(src.record_type), 'MOC') as record_type_norm,
        a.e164 as a_e164, a.valid as a_ok, a.number_type as a_type_, a.region as a_region_,
        b.e164 as b_e164, b.valid as b_ok, b.number_type as b_type_, b.region as b_region_
    from src
    left join {numbers} a on a.raw = src.a_number
    left join {numbers} b on b.raw = src.b_number
),
normalised as (
    select *,
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
    coalesce(a_ok, false) as a_valid,
    a_type_ as a_type,
    a_region_ as a_region,
    b_e164 as b_number,
    b_number as b_number_raw,
    coalesce(b_ok, false) as b_valid,
    b_type_ as b_type,
    b_region_ as b_region,
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
        when before_partitions
            then {literal(f"seizure_time is before the first partition ({settings.partitions_start}): ")} || seizure_time
        when in_future then 'seizure_time is more than {MAX_CLOCK_AHEAD} in the future: ' || seizure_time
        when duration_s is null then 'duration_s is missing'
        when duration_int is null then 'duration_s is not a whole number: ' || duration_s
        when duration_int < 0 then 'duration_s is negative: ' || duration_s
        when duration_int > {MAX_DURATION_S} then 'duration_s is over {MAX_DURATION_S} (24 h): ' || duration_s
        when a_number is null then 'a_number is missing'
        when b_number is null then 'b_number is missing'
        when record_type_norm not in ({", ".join(literal(r) for r in schema.RECORD_TYPES)})
            then 'record_type is not one of {"/".join(schema.RECORD_TYPES)}: ' || record_type
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

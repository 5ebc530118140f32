"""From a file's columns to clean rows: the canonical mapping and the normalisation SQL.

A file is read by DuckDB as text (every column VARCHAR), mapped onto the canonical columns, then
normalised: numbers to E.164, times to UTC instants, and a reject reason for every row that cannot be
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
        f"from {scan_sql(list(paths), layout.format, layout.delimiter)}"
    )


def e164_sql(column: str, settings: Settings) -> str:
    """E.164 (with leading '+') for a cleaned number column; the cleaned value itself if it is not digits."""
    cc = settings.country_code
    branches = [f"when not regexp_full_match({column}, '\\+?[0-9]+') then {column}",
                f"when starts_with({column}, '+') then {column}"]
    for prefix in settings.international_prefixes:
        branches.append(f"when starts_with({column}, {literal(prefix)}) then '+' || {column}[{len(prefix) + 1}:]")
    if settings.national_prefix:
        np = settings.national_prefix
        branches.append(f"when starts_with({column}, {literal(np)}) then {literal('+' + cc)} || {column}[{len(np) + 1}:]")
    # Bare digits: country code plus a full national number, or a national number without its prefix.
    branches.append(f"when starts_with({column}, {literal(cc)}) and length({column}) >= {len(cc) + 8} then '+' || {column}")
    branches.append(f"else {literal('+' + cc)} || {column}")
    return f"case when {column} is null then null\n        " + "\n        ".join(branches) + "\n    end"


def normalise_sql(source_sql: str, settings: Settings) -> str:
    """Typed, normalised CDRs from the canonical text columns, with ``reject_reason`` NULL for good rows.

    The DuckDB session's TimeZone must be the source time zone: a time without an offset is read in it.
    A row whose time is unreadable, before the first partition or in the future has a NULL ``hour``.
    """
    first = literal(settings.partitions_start_at)
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



"""Per-caller features over trailing windows, computed by DuckDB from the raw_cdrs lake.

For every hour H and every number that made a call during H, a window of ``w`` hours covers the hours
H-(w-1) .. H. Calls *made* are originating voice records (MOC, IGW_IN, TRANSIT); calls *received* by a
number are the voice MTC records whose b_number it is. SMS are not calls: a text has no duration, and an
SMS farm's thousands of 0-second "calls" would look like a SIM box's (``sms_simfarm`` judges them).

Columns: ``caller``, ``hour`` (the partition hour, a UTC instant) and for each window ``w`` (suffix
``_{w}h``): calls, answered_calls, total_duration_s, avg_duration_s, short_calls (duration_s <= 10),
short_call_share, night_calls (00:00-05:59 in the partition time zone), received_calls,
distinct_callees, distinct_cells, first_call, last_call.

Print the SQL for one hour to read or run it by hand:
``python -m sentinel_pipeline.features 2026-11-26T13:00:00+00:00``.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sentinel_pipeline import duck, ingest, lake, schema
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

ASSET = "caller_features"
SHORT_CALL_SECONDS = 10
# Memory one raw row costs the feature query at its peak (measured on 10M generated CDRs; generous).
BYTES_PER_ROW = 1_000

ADDITIVE = ("calls", "answered_calls", "total_duration_s", "short_calls", "night_calls", "received_calls")
# feature -> the column whose distinct values it counts
DISTINCT = {"distinct_callees": "callee", "distinct_cells": "cell_id"}


def _frame(w: int) -> str:
    return f"partition by caller_key order by hour range between interval {w - 1} hours preceding and current row"


def _windows_cte(windows: tuple[int, ...]) -> str:
    """Every additive feature over every window, in one pass over ``activity``: a 1-hour window is the
    hour's own row, a longer one a sum over a frame of hours."""
    columns = []
    for w in windows:
        if w == 1:
            columns += [f"{m} as {m}_1h" for m in ADDITIVE] + ["first_call as first_call_1h", "last_call as last_call_1h"]
        else:
            columns += [f"sum({m}) over past_{w}h as {m}_{w}h" for m in ADDITIVE] + [
                f"min(first_call) over past_{w}h as first_call_{w}h",
                f"last_call as last_call_{w}h",
            ]
    frames = [f"past_{w}h as ({_frame(w)})" for w in windows if w > 1]
    separator = ",\n        "
    return f"""windows as (
    select caller_key, hour,
        {separator.join(columns)}
    from activity{"" if not frames else f"{chr(10)}    window {', '.join(frames)}"}
)"""


def _distinct_cte(name: str, windows: tuple[int, ...]) -> str:
    """One distinct count over every window, from the hour's distinct values (``{name}_by_hour``): a
    1-hour window counts the hour's rows; a longer one counts distinct values over a frame of hours (each
    row of the hour carries the same count). DuckDB's count(distinct) is slow; counting
    already-distinct rows gives the same number faster."""
    counts = [f"count(*) as {name}_1h" if w == 1 else f"any_value(n_{w}h) as {name}_{w}h" for w in windows]
    frames = [f"count(distinct value) over ({_frame(w)}) as n_{w}h" for w in windows if w > 1]
    source = f"{name}_by_hour" if not frames else f"(select caller_key, hour, {', '.join(frames)} from {name}_by_hour)"
    return f"""{name}_windows as (
    select caller_key, hour, {", ".join(counts)}
    from {source}
    group by all
)"""


def features_sql(raw: str, hours: list[datetime], settings: Settings, chunk: tuple[int, int] = (0, 1)) -> str:
    """SQL for the features of ``hours`` from the relation ``raw`` (e.g. ``read_parquet([...])``): the
    raw_cdrs rows of those hours and of the longest window before them.

    ``chunk`` = (i, n) keeps the numbers whose hash is i modulo n: features are per number, so n chunks
    computed one after the other give the same rows as one pass, in about 1/n of the memory.

    Numbers are grouped by a 64-bit hash of their text (``caller_key``): the same grouping, and far
    cheaper for DuckDB to sort and partition than text.
    """
    windows = settings.feature_windows_hours
    originating = ", ".join(literal(t) for t in schema.ORIGINATING_RECORD_TYPES)
    targets = ", ".join(literal(h) for h in hours)
    tz = literal(settings.partition_timezone)
    nl = ",\n"
    # ``raw`` is read twice rather than through a shared CTE, which DuckDB would materialise in full.
    hour = duck.hour_sql("seizure_time", settings)

    in_chunk = f"% {chunk[1]} = {chunk[0]}"
    ctes = [_windows_cte(windows)] + [_distinct_cte(n, windows) for n in DISTINCT]
    by_hour = [
        f"{name}_by_hour as (\n    select distinct caller_key, hour, hash({column}) as value\n"
        f"    from made where {column} is not null\n)"
        for name, column in DISTINCT.items()
    ]
    joins = ["join windows using (caller_key, hour)"]
    joins += [f"left join {name}_windows using (caller_key, hour)" for name in DISTINCT]
    derived = []
    for w in windows:
        derived += [
            f"round(total_duration_s_{w}h / calls_{w}h, 3) as avg_duration_s_{w}h",
            f"round(short_calls_{w}h / calls_{w}h, 4) as short_call_share_{w}h",
        ]
        derived += [f"coalesce({name}_{w}h, 0) as {name}_{w}h" for name in DISTINCT]

    return f"""
with made as (
    select hash(a_number) as caller_key, a_number as caller, b_number as callee, {hour} as hour,
           seizure_time, duration_s, answer_time is not null or duration_s > 0 as answered, cell_id
    from {raw}
    where record_type in ({originating}) and service = 'voice' and hash(a_number) {in_chunk}
),
hourly as (
    select caller_key, hour,
        any_value(caller) as caller,
        count(*) as calls,
        count(*) filter (where answered) as answered_calls,
        sum(duration_s) as total_duration_s,
        count(*) filter (where duration_s <= {SHORT_CALL_SECONDS}) as short_calls,
        min(seizure_time) as first_call,
        max(seizure_time) as last_call
    from made
    group by all
),
received as (
    select hash(b_number) as caller_key, {hour} as hour, count(*) as received_calls
    from {raw}
    where record_type = 'MTC' and service = 'voice' and hash(b_number) {in_chunk}
    group by all
),
-- One row per calling number and hour in which it made or received calls.
activity as (
    select caller_key, hour,
        coalesce(calls, 0) as calls,
        coalesce(answered_calls, 0) as answered_calls,
        coalesce(total_duration_s, 0) as total_duration_s,
        coalesce(short_calls, 0) as short_calls,
        case when hour(timezone({tz}, hour)) < 6 then coalesce(calls, 0) else 0 end as night_calls,
        coalesce(received_calls, 0) as received_calls,
        first_call, last_call
    from hourly left join received using (caller_key, hour)
    union all
    select caller_key, hour, 0, 0, 0, 0, 0, received_calls, null, null
    from received anti join hourly using (caller_key, hour)
    where caller_key in (select caller_key from hourly)
),
{nl.join(by_hour)},
{nl.join(ctes)}
select caller, hour,
    * exclude (caller_key, caller, hour, {", ".join(f"{n}_{w}h" for w in windows for n in DISTINCT)}),
    {(nl + "    ").join(derived)}
from (select caller_key, caller, hour from hourly where hour in ({targets}))
{chr(10).join(joins)}
"""


@dataclass
class FeatureSummary:
    hours: int
    callers: int
    rows: int
    chunks: int
    seconds: float
    by_hour: dict[datetime, int]  # rows (callers) per partition hour


def build_feature_hours(settings: Settings, hours: list[datetime]) -> FeatureSummary:
    """Compute the features of ``hours`` and write one lake file per hour (empty when nobody called)."""
    started = time.perf_counter()
    raw_files = lake.existing_urls(settings.lake, ingest.ASSET, hours, settings.longest_window_hours - 1)
    with duck.connect(settings) as con:
        if raw_files:
            raw = f"read_parquet({literal(raw_files)})"
        else:  # nothing ingested in the window yet: the same columns, no rows
            con.execute(f"create temp table no_raw ({schema.ddl(schema.RAW_CDR_COLUMNS)})")
            raw = "no_raw"
        chunks = _chunks_for(con, raw)
        for i in range(chunks):
            sql = features_sql(raw, hours, settings, (i, chunks))
            con.execute(f"create temp table features as {sql}" if i == 0 else f"insert into features {sql}")
        lake.write_hours(con, "features", "*", settings.lake, ASSET, hours)
        rows, callers = con.execute("select count(*), count(distinct caller) from features").fetchone()
        by_hour = {**dict.fromkeys(hours, 0),
                   **dict(con.execute("select hour, count(*) from features group by hour").fetchall())}
    return FeatureSummary(len(hours), callers, rows, chunks, time.perf_counter() - started, by_hour)


def _chunks_for(con, raw: str) -> int:
    """How many chunks keep each pass within the DuckDB memory limit."""
    (rows,) = con.execute(f"select count(*) from {raw}").fetchone()
    (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    rows_per_chunk = max(100_000, _bytes(limit) // BYTES_PER_ROW)
    return max(1, -(-rows // rows_per_chunk))


def _bytes(size: str) -> int:
    """'4GB', '512MiB', '2 GB' -> bytes."""
    units = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
    match = re.fullmatch(r"([0-9.]+)\s*([KMGT]?I?B)", size.strip().upper())
    if not match or match.group(2) not in units:
        raise ValueError(f"DuckDB memory_limit: cannot read {size!r} (e.g. 4GB, 512MB)")
    return int(float(match.group(1)) * units[match.group(2)])


def columns(settings: Settings) -> dict[str, str]:
    """The feature table's columns and their DuckDB types, for the settings' windows (from the SQL itself)."""
    with duck.connect(settings) as con:
        con.execute(f"create temp table no_raw ({schema.ddl(schema.RAW_CDR_COLUMNS)})")
        described = con.execute(f"describe {features_sql('no_raw', [datetime(2024, 1, 1, tzinfo=timezone.utc)], settings)}").fetchall()
    return {name: kind for name, kind, *_ in described}


def code_version(settings: Settings) -> str:
    """What decides the features: the SQL for the settings' windows (one hour of targets stands in)."""
    sql = features_sql("raw", [datetime(2024, 1, 1, tzinfo=timezone.utc)], settings)
    return hashlib.sha256(sql.encode()).hexdigest()[:12]


if __name__ == "__main__":
    hour = datetime.fromisoformat(sys.argv[1])
    settings = Settings.from_env()
    print(features_sql("read_parquet([<raw_cdrs files of the window>])", [hour], settings))

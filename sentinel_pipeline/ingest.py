"""Build the ``raw_cdrs`` partitions: registered files → normalised, de-duplicated Parquet per hour.

An hour is rebuilt from every registered file that has records in it, so re-running an hour gives the
same result however often it runs. An hour whose input files are unchanged since it was last written
(same fingerprint) is skipped.

The work of a run, in the order it happens (``IngestSummary.stages`` times each):

1. read: every file's canonical text rows into one table, one DuckDB scan per layout (the layout
   registration found), the line-by-line reader for the files DuckDB refuses;
2. numbers: the distinct raw numbers of the run read once each (``sentinel_pipeline.numbers``);
3. type: rows typed and checked (``cdr.normalise.typed_sql``), each with its hour or its reject reason;
4. duplicates: a record_id delivered again is kept once;
5. write: every hour's Parquet file from one partitioned COPY, each moved into place atomically (a
   rename on disk, one upload per object to a bucket).

Files in a bucket are downloaded for the run's read (``landing.local_files``), then removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import phonenumbers
import psycopg

from sentinel_pipeline import duck, lake, landing, registry, schema, storage
from sentinel_pipeline.cdr.layouts import FileLayout, column_map_fingerprint, detect_layout, layout_key
from sentinel_pipeline.cdr.layouts import scan_sql
from sentinel_pipeline.cdr.normalise import CANONICAL_TEXT_COLUMNS, canonical_of_table, typed_sql
from sentinel_pipeline.cdr.read import with_file_rows
from sentinel_pipeline.duck import literal
from sentinel_pipeline.errors import SentinelError, UnreadableFile
from sentinel_pipeline.numbers import normalise_numbers
from sentinel_pipeline.settings import Settings

ASSET = "raw_cdrs"
# Bump when normalisation changes, so every hour is rebuilt on its next run.
INGEST_VERSION = 4

LAKE_COLUMNS = schema.select_list(schema.RAW_CDR_COLUMNS)


# Every delivery of a record_id after its first, as a reject row naming the delivery that was kept.
DUPLICATES_SQL = """
select file_id, line, hour, rebuilt,
    'duplicate record_id: first delivered in file ' || kept_file_id || ' line ' || kept_line as reason,
    to_json(struct_pack(record_id, seizure_time, duration_s, a_number_raw, b_number_raw, record_type))::varchar as raw
from (
    select *,
        row_number() over by_id as delivery,
        first_value(file_id) over by_id as kept_file_id,
        first_value(line) over by_id as kept_line
    from staged
    where reject_reason is null
      and record_id in (
          select record_id from staged where reject_reason is null group by record_id having count(*) > 1
      )
    window by_id as (partition by record_id order by file_id, line)
)
where delivery > 1
"""


@dataclass
class IngestSummary:
    hours: int = 0
    hours_written: int = 0
    files: int = 0
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0  # rows with a reject reason, duplicates not included
    duplicates: int = 0  # records whose record_id was already delivered (kept in cdr_rejects too)
    distinct_numbers: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds of each step (module docstring)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    read_line_by_line: list[str] = field(default_factory=list)  # files DuckDB's CSV reader refused
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # file -> ignored columns

    @contextlib.contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


def raw_signature(settings: Settings) -> str:
    """What, besides the files, decides an hour's raw_cdrs: the ingest version, the settings it reads and
    the numbering metadata (a phonenumbers upgrade can change which numbers are valid)."""
    parts = [INGEST_VERSION, settings.country_code, settings.national_prefix, settings.international_prefixes,
             settings.source_timezone, settings.partition_timezone, column_map_fingerprint(settings),
             phonenumbers.__version__]
    return hashlib.md5(repr(parts).encode()).hexdigest()


def code_version() -> str:
    """What decides raw_cdrs besides its inputs: the ingest version, the typing and de-duplication SQL (for
    the default settings) and the numbering metadata."""
    parts = [str(INGEST_VERSION), typed_sql("<canonical rows>", "<number dictionary>", Settings()), DUPLICATES_SQL,
             phonenumbers.__version__]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def raw_fingerprint(settings: Settings, file_ids: list[int]) -> str:
    """The input fingerprint of an hour built from ``file_ids``: ``md5(signature:id,id,...)``, ids in order
    (``work.EXPECTED_RAW`` computes the same in SQL). An hour whose fingerprint is unchanged is not rebuilt."""
    ids = ",".join(str(i) for i in sorted(file_ids))
    return hashlib.md5(f"{raw_signature(settings)}:{ids}".encode()).hexdigest()


def _read_files(con, settings: Settings, files: list[registry.RegisteredFile], paths: dict[str, Path],
                summary: IngestSummary) -> list[str]:
    """Every file's canonical text rows, in the view ``src``; returns the tables it reads. Files of one layout
    that DuckDB reads cleanly are read in one scan into a table of their own (a scan per file cost more
    than the reading). A group whose scan fails or yields other row counts than registration found, and
    the files registration found DuckDB cannot take whole, go file by file (``with_file_rows``), which
    reads a broken file line by line. ``paths``: each file's local path (``landing.local_files``)."""
    groups: dict[tuple, tuple[FileLayout, list]] = {}
    one_by_one = []
    for f in files:
        layout = f.layout or detect_layout(con, paths[f.path], settings)
        if f.read_by_line or layout.needs_lenient:
            one_by_one.append(f)
        else:
            groups.setdefault(layout_key(layout), (layout, []))[1].append(f)
    tables, parts = [], []
    for n, (layout, group) in enumerate(groups.values()):
        table = f"src_{n}"
        scan = scan_sql([paths[f.path] for f in group], layout.format, layout.delimiter)
        try:
            con.execute(f"create temp table {table} as select *, file_index from {scan}")
            counts = dict(con.execute(f"select file_index, count(*) from {table} group by 1").fetchall())
        except duckdb.Error:
            counts = None
        if counts is None or any(counts.get(i, 0) != f.rows_read for i, f in enumerate(group)):
            con.execute(f"drop table if exists {table}")
            one_by_one.extend(group)
            continue
        tables.append(table)
        parts.append(canonical_of_table(table, layout, [f.file_id for f in group], [f.rows_read for f in group]))
        for f in group:
            if layout.extra_columns:
                summary.extra_columns[f.path] = list(layout.extra_columns)
    con.execute(f"create temp table src_lines ({CANONICAL_TEXT_COLUMNS})")
    tables.append("src_lines")
    parts.append("select * from src_lines")
    for f in sorted(one_by_one, key=lambda f: f.file_id):
        try:
            layout, _ = with_file_rows(con, paths[f.path], f.file_id, settings,
                                       lambda sql: con.execute(f"insert into src_lines by name {sql}"),
                                       lenient=f.read_by_line)
        except UnreadableFile as exc:
            raise SentinelError(
                f"{settings.landing.url(f.path)}: registered file can no longer be read ({exc.reason}); fix it "
                f"and drop it again, "
                f"or run `sentinel files forget {f.path}`"
            ) from None
        if layout.table:
            summary.read_line_by_line.append(f.path)
        if layout.extra_columns:
            summary.extra_columns[f.path] = list(layout.extra_columns)
    con.execute("create temp view src as " + "\nunion all\n".join(parts))
    return tables


def _local_copies(settings: Settings, files: list[registry.RegisteredFile], stack: contextlib.ExitStack) -> dict[str, Path]:
    """Each file's local path for the rest of the run's read (``landing.local_files``); a registered file
    that is gone is an error saying how to go on."""
    try:
        return stack.enter_context(landing.local_files(settings, [f.path for f in files]))
    except storage.NotFound as exc:
        key = next((f.path for f in files if settings.landing.url(f.path) == exc.url), exc.url)
        raise SentinelError(
            f"{exc.url}: registered file is no longer in the landing zone; restore it, or run "
            f"`sentinel files forget {key}` to drop its records"
        ) from None


def build_raw_hours(settings: Settings, conn: psycopg.Connection, hours: list[datetime]) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary(hours=len(hours))
    files = registry.files_for_hours(conn, hours)
    fingerprints = {h: raw_fingerprint(settings, [f.file_id for f in files if h in f.hours]) for h in hours}
    previous = registry.raw_fingerprints(conn, hours)
    written = set(lake.existing_keys(settings.lake, ASSET, hours))
    todo = [
        h
        for h in hours
        if previous.get(h) != fingerprints[h] or lake.hour_key(ASSET, h) not in written
    ]
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    todo_set = set(todo)
    files = [f for f in files if todo_set.intersection(f.hours)]
    summary.files = len(files)
    with contextlib.ExitStack() as stack:
        with summary.stage("read"):
            paths = _local_copies(settings, files, stack)
            con = stack.enter_context(duck.connect(settings))
            tables = _read_files(con, settings, files, paths, summary)
        with summary.stage("numbers"):
            numbers = normalise_numbers(con, "(select a_number from src union select b_number from src)",
                                        settings, output="numbers", assume_distinct=True)
            summary.distinct_numbers = con.sql(f"select count(*) from {numbers}").fetchall()[0][0]
        with summary.stage("type"):
            # Every row of the files, also those of hours not rebuilt now: a record delivered again is
            # found among all the hours its files touch. Rows whose time cannot be read are recorded
            # under the first hour of their file.
            con.execute("create temp table first_hours (file_id bigint, first_hour timestamptz)")
            if files:
                con.execute("insert into first_hours values "
                            + ", ".join(f"({f.file_id}, {literal(min(f.hours))})" for f in files))
            con.execute(
                f"""
                create temp table staged as
                select rows.* replace (coalesce(rows.hour, files.first_hour) as hour),
                    list_contains({literal(todo)}::timestamptz[], coalesce(rows.hour, files.first_hour)) as rebuilt
                from ({typed_sql("select * from src", numbers, settings)}) as rows
                join first_hours as files using (file_id)
                """
            )
            con.execute("drop view src")
            for table in (*tables, numbers):
                con.execute(f"drop table {table}")
            summary.rows_read, summary.rejected = con.execute(
                "select count(*), count(reject_reason) from staged where rebuilt"
            ).fetchone()
        with summary.stage("duplicates"):
            # The same record_id delivered twice is one call: keep its first delivery. The others go with
            # the rejects (DUPLICATES_SQL), so that for every file accepted + rejected = rows read. Only ids
            # seen more than once are ranked: ranking all rows cost 20 s per 10M.
            con.execute(f"create temp table duplicates as select * from ({DUPLICATES_SQL}) where rebuilt")
        accepted = (f"(select {LAKE_COLUMNS}, hour from staged anti join duplicates using (file_id, line)"
                    " where rebuilt and reject_reason is null)")
        per_hour_in = dict(
            con.sql("select hour, count(*) from staged where rebuilt and reject_reason is null group by hour").fetchall()
        )
        per_hour_duplicates = dict(con.sql("select hour, count(*) from duplicates group by hour").fetchall())
        per_hour = {h: n - per_hour_duplicates.get(h, 0) for h, n in per_hour_in.items()}
        per_hour_rejected = dict(
            con.sql("select hour, count(*) from staged where rebuilt and reject_reason is not null group by hour").fetchall()
        )
        summary.accepted = sum(per_hour.values())
        summary.duplicates = sum(per_hour_duplicates.values())
        summary.reject_reasons = dict(
            con.sql(
                "select regexp_extract(reject_reason, '^[^:]*'), count(*) from staged "
                "where rebuilt and reject_reason is not null group by 1 order by 2 desc"
            ).fetchall()
        )
        rejects = con.sql(
            "select file_id, line, hour, reject_reason, src_text from staged where rebuilt and reject_reason is not null"
        ).fetchall()
        if summary.duplicates:
            rejects += con.sql("select * exclude (rebuilt) from duplicates").fetchall()

        with summary.stage("write"):
            lake.write_hours(con, accepted, LAKE_COLUMNS, settings.lake, ASSET, todo)
        summary.hours_written = len(todo)

        facts = [
            {
                "hour": h,
                "fingerprint": fingerprints[h],
                "accepted": per_hour.get(h, 0),
                "rejected": per_hour_rejected.get(h, 0),
                "duplicates": per_hour_duplicates.get(h, 0),
                "files": sum(1 for f in files if h in f.hours),
            }
            for h in todo
        ]
        registry.save_raw_partitions(conn, todo, facts, rejects)
    summary.seconds = time.perf_counter() - started
    return summary

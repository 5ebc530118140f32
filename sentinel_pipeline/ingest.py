"""Build the ``raw_cdrs`` partitions: registered files → normalised, de-duplicated Parquet per hour.

An hour is rebuilt from every registered file that has records in it, so re-running an hour gives the
same result however often it runs. An hour whose input files are unchanged since it was last written
(same fingerprint) is skipped.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime
import duckdb
import psycopg

from sentinel_pipeline import duck, lake, registry, schema
from sentinel_pipeline.cdr.layouts import column_map_fingerprint, detect_layout
from sentinel_pipeline.cdr.normalise import canonical_select_files, normalise_sql
from sentinel_pipeline.cdr.read import with_file_rows
from sentinel_pipeline.duck import literal
from sentinel_pipeline.errors import SentinelError, UnreadableFile
from sentinel_pipeline.settings import Settings

ASSET = "raw_cdrs"
# Bump when normalisation changes, so every hour is rebuilt on its next run.
INGEST_VERSION = 3

LAKE_COLUMNS = schema.select_list(schema.RAW_CDR_COLUMNS)


# Every delivery of a record_id after its first, as a reject row naming the delivery that was kept.
DUPLICATES_SQL = """
select file_id, line, hour,
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
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    read_line_by_line: list[str] = field(default_factory=list)  # files DuckDB's CSV reader refused
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # file -> ignored columns


def raw_signature(settings: Settings) -> str:
    """What, besides the files, decides an hour's raw_cdrs: the ingest version and the settings it reads."""
    parts = [INGEST_VERSION, settings.country_code, settings.national_prefix, settings.international_prefixes,
             settings.source_timezone, settings.partition_timezone, column_map_fingerprint(settings)]
    return hashlib.md5(repr(parts).encode()).hexdigest()


def code_version() -> str:
    """What decides raw_cdrs besides its inputs: the ingest version, the normalisation and de-duplication
    SQL (for the default settings)."""
    parts = [str(INGEST_VERSION), normalise_sql("<canonical rows of a file>", Settings()), DUPLICATES_SQL]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def raw_fingerprint(settings: Settings, file_ids: list[int]) -> str:
    """The input fingerprint of an hour built from ``file_ids``: ``md5(signature:id,id,...)``, ids in order
    (``work.EXPECTED_RAW`` computes the same in SQL). An hour whose fingerprint is unchanged is not rebuilt."""
    ids = ",".join(str(i) for i in sorted(file_ids))
    return hashlib.md5(f"{raw_signature(settings)}:{ids}".encode()).hexdigest()


def _insert_staged_sql(sql: str, first_hour: datetime, todo_list: str) -> str:
    """Insert the normalised rows of ``sql`` that belong to the hours being built; rows whose time cannot
    be read are recorded under the first hour of their file."""
    return f"""
        insert into staged by name
        select * replace (coalesce(hour, {literal(first_hour)}) as hour)
        from ({sql})
        where list_contains({todo_list}, coalesce(hour, {literal(first_hour)}))
    """


def _stage_together(con, settings: Settings, files: list, todo_list: str) -> None:
    """Normalise cleanly readable files with one scan per layout (``canonical_select_files``)."""
    groups: dict[tuple, list] = {}
    for f in files:
        path = settings.landing_dir / f.path
        layout = detect_layout(con, path, settings)
        if layout.needs_lenient:
            raise UnreadableFile(path, "needs the line-by-line reader")
        key = (layout.format, layout.layout, layout.delimiter, tuple(sorted(layout.columns.items())))
        groups.setdefault(key, (layout, []))[1].append(f)
    for layout, group in groups.values():
        select = canonical_select_files(
            [settings.landing_dir / f.path for f in group], layout,
            [f.file_id for f in group], [f.rows_read for f in group],
        )
        first_hours = ", ".join(f"({f.file_id}, {literal(min(f.hours))})" for f in group)
        con.execute(
            f"""
            insert into staged by name
            select rows.* replace (coalesce(rows.hour, files.first_hour) as hour)
            from ({normalise_sql(select, settings)}) as rows
            join (values {first_hours}) as files (file_id, first_hour) using (file_id)
            where list_contains({todo_list}, coalesce(rows.hour, files.first_hour))
            """
        )


def build_raw_hours(settings: Settings, conn: psycopg.Connection, hours: list[datetime]) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary(hours=len(hours))
    files = registry.files_for_hours(conn, hours)
    fingerprints = {h: raw_fingerprint(settings, [f.file_id for f in files if h in f.hours]) for h in hours}
    previous = registry.raw_fingerprints(conn, hours)
    todo = [
        h
        for h in hours
        if previous.get(h) != fingerprints[h] or not lake.hour_path(settings.lake_dir, ASSET, h).exists()
    ]
    if not todo:
        summary.seconds = time.perf_counter() - started
        return summary
    todo_set = set(todo)
    files = [f for f in files if todo_set.intersection(f.hours)]
    summary.files = len(files)

    with duck.connect(settings) as con:
        todo_list = f"{literal(todo)}::timestamptz[]"
        con.execute(f"create temp table staged ({schema.ddl(schema.STAGED_COLUMNS)})")
        for f in files:
            path = settings.landing_dir / f.path
            if not path.exists():
                raise SentinelError(
                    f"{path}: registered file is no longer in the landing directory; restore it, or run "
                    f"`sentinel files forget {f.path}` to drop its records"
                )
        # Fast path: every file DuckDB reads cleanly, in one statement (per-statement overhead dominated a
        # file-by-file loop). Any failure falls back to the loop, which reads a broken file line by line.
        quick = [f for f in files if not f.read_by_line]
        try:
            _stage_together(con, settings, quick, todo_list)
            slow = [f for f in files if f.read_by_line]
        except (duckdb.Error, UnreadableFile):
            con.execute("delete from staged")
            slow = files
        for f in slow:
            path = settings.landing_dir / f.path
            try:
                layout, _ = with_file_rows(
                    con, path, f.file_id, settings,
                    lambda sql: con.execute(_insert_staged_sql(sql, min(f.hours), todo_list)),
                    lenient=f.read_by_line,
                )
            except UnreadableFile as exc:
                raise SentinelError(
                    f"{path}: registered file can no longer be read ({exc.reason}); fix it and drop it again, "
                    f"or run `sentinel files forget {f.path}`"
                ) from None
            if layout.table:
                summary.read_line_by_line.append(f.path)
            if layout.extra_columns:
                summary.extra_columns[f.path] = list(layout.extra_columns)

        summary.rows_read, summary.rejected = con.execute(
            "select count(*), count(reject_reason) from staged"
        ).fetchone()
        # The same record_id delivered twice is one call: keep its first delivery. The others go with the
        # rejects (DUPLICATES_SQL), so that for every file accepted + rejected = rows read. Only ids seen
        # more than once are ranked: ranking all rows cost 20 s per 10M.
        con.execute(f"create temp table duplicates as {DUPLICATES_SQL}")
        con.execute(
            f"""
            create temp table accepted as
            select {LAKE_COLUMNS}, hour
            from staged anti join duplicates using (file_id, line)
            where reject_reason is null
            """
        )
        per_hour = dict(
            con.sql("select hour, count(*) from accepted group by hour").fetchall()
        )
        per_hour_in = dict(
            con.sql("select hour, count(*) from staged where reject_reason is null group by hour").fetchall()
        )
        per_hour_rejected = dict(
            con.sql("select hour, count(*) from staged where reject_reason is not null group by hour").fetchall()
        )
        summary.accepted = sum(per_hour.values())
        summary.duplicates = sum(per_hour_in.values()) - summary.accepted
        summary.reject_reasons = dict(
            con.sql(
                "select regexp_extract(reject_reason, '^[^:]*'), count(*) from staged "
                "where reject_reason is not null group by 1 order by 2 desc"
            ).fetchall()
        )

        for h in todo:
            lake.write_parquet(
                con,
                f"select {LAKE_COLUMNS} from accepted where hour = {literal(h)}",
                lake.hour_path(settings.lake_dir, ASSET, h),
            )
        summary.hours_written = len(todo)

        rejects = con.sql(
            "select file_id, line, hour, reject_reason, src_text from staged where reject_reason is not null"
        ).fetchall()
        if summary.duplicates:
            rejects += con.sql("select * from duplicates").fetchall()
        facts = [
            {
                "hour": h,
                "fingerprint": fingerprints[h],
                "accepted": per_hour.get(h, 0),
                "rejected": per_hour_rejected.get(h, 0),
                "duplicates": per_hour_in.get(h, 0) - per_hour.get(h, 0),
                "files": sum(1 for f in files if h in f.hours),
            }
            for h in todo
        ]
        registry.save_raw_partitions(conn, todo, facts, rejects)
    summary.seconds = time.perf_counter() - started
    return summary


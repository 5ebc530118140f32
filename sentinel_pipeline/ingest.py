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
import psycopg

from sentinel_pipeline import cdr, lake, registry
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings

ASSET = "raw_cdrs"
# Bump when normalisation changes, so every hour is rebuilt on its next run.
INGEST_VERSION = 1

LAKE_COLUMNS = (
    "record_id, seizure_time, answer_time, duration_s, a_number, a_number_raw, a_valid, "
    "b_number, b_number_raw, b_valid, record_type, trunk_in, trunk_out, imsi, imei, cell_id, "
    "release_cause, service, file_id, line"
)


@dataclass
class IngestSummary:
    hours: int = 0
    hours_written: int = 0
    files: int = 0
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    reject_reasons: dict[str, int] = field(default_factory=dict)


def _fingerprint(settings: Settings, file_ids: list[int]) -> str:
    signature = [
        INGEST_VERSION,
        settings.country_code,
        settings.national_prefix,
        settings.international_prefixes,
        settings.source_timezone,
        settings.partition_timezone,
        sorted(file_ids),
    ]
    return hashlib.sha1(repr(signature).encode()).hexdigest()


def _ts(value: datetime) -> str:
    return f"timestamptz '{value.isoformat()}'"


def build_raw_hours(settings: Settings, conn: psycopg.Connection, hours: list[datetime]) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary(hours=len(hours))
    files = registry.files_for_hours(conn, hours)
    fingerprints = {h: _fingerprint(settings, [f.file_id for f in files if h in f.hours]) for h in hours}
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

    con = cdr.connect_duckdb(settings)
    todo_list = "[" + ", ".join(_ts(h) for h in todo) + "]::timestamptz[]"
    con.execute(f"create temp table staged ({cdr.NORMALISED_SCHEMA})")
    for f in files:
        path = settings.landing_dir / f.path
        if not path.exists():
            raise SentinelError(
                f"{path}: registered file is no longer in the landing directory; restore it, or run "
                f"`sentinel files forget {f.path}` to drop its records"
            )
        _, sql = cdr.read_file_sql(con, path, f.file_id, settings)
        # Rows whose time cannot be read are recorded under the file's first hour.
        first_hour = min(f.hours)
        con.execute(
            f"""
            insert into staged by name
            select * replace (coalesce(hour, {_ts(first_hour)}) as hour)
            from ({sql})
            where list_contains({todo_list}, coalesce(hour, {_ts(first_hour)}))
            """
        )

    summary.rows_read, summary.rejected = con.execute(
        "select count(*), count(reject_reason) from staged"
    ).fetchone()
    # The same record_id delivered twice is one call: keep its first delivery.
    con.execute(
        f"""
        create temp table accepted as
        select {LAKE_COLUMNS}, hour
        from staged
        where reject_reason is null
        qualify row_number() over (partition by record_id order by file_id, line) = 1
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
            f"select {LAKE_COLUMNS} from accepted where hour = {_ts(h)} order by a_number, seizure_time",
            lake.hour_path(settings.lake_dir, ASSET, h),
        )
    summary.hours_written = len(todo)

    rejects = con.sql(
        "select file_id, line, hour, reject_reason, src_text from staged where reject_reason is not null"
    ).fetchall()
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
    con.close()
    summary.seconds = time.perf_counter() - started
    return summary


"""The value sets of schema.py are the ones the migrations enforce, and the lake's columns are the ones
ingest writes."""

import os
import re
import time

import duckdb

from sentinel_pipeline import ingest, lake, landing, schema
from sentinel_pipeline.settings import PROJECT_ROOT

MIGRATIONS = "\n".join(p.read_text() for p in sorted((PROJECT_ROOT / "migrations").glob("*.sql")))


def _quoted(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"'([^']*)'", text))


def test_severities_are_the_enum_in_order():
    (values,) = re.findall(r"create type sentinel\.severity as enum \(([^)]*)\)", MIGRATIONS)
    assert _quoted(values) == schema.SEVERITIES


def test_alert_statuses_are_the_check_constraint():
    (values,) = re.findall(r"check \(status in \(([^)]*)\)\)", MIGRATIONS.split("create table sentinel.alerts")[1])
    assert _quoted(values) == schema.ALERT_STATUSES


def test_lake_columns_are_what_ingest_writes(settings, conn):
    settings.landing.root.mkdir(parents=True)
    (settings.landing.root / "a.csv").write_text(
        "record_id,seizure_time,duration_s,a_number,b_number\nr1,2026-11-26T10:00:00Z,5,08031234567,08061234567\n"
    )
    os.utime(settings.landing.root / "a.csv", (time.time() - 60, time.time() - 60))
    outcome = landing.register_landed_files(settings, conn, {})
    ingest.build_raw_hours(settings, conn, sorted(outcome.hours))
    (path,) = [settings.lake.root / lake.hour_key(ingest.ASSET, h) for h in outcome.hours]
    described = duckdb.sql(f"describe select * from read_parquet('{path}')").fetchall()
    assert {name: kind for name, kind, *_ in described} == schema.RAW_CDR_COLUMNS


def test_detection_columns_are_the_table(conn):
    columns = conn.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'sentinel' and table_name = 'detections' order by ordinal_position"
    ).fetchall()
    assert [c for (c,) in columns] == list(schema.DETECTION_COLUMNS)

"""Running a detector for a set of partition hours: the DuckDB session its SQL runs in, and writing what
it found to ``sentinel.detections``.

The session (``session_sql`` prints it for reading or running by hand):
- ``cdrs``: the raw_cdrs lake rows of every target hour and the ``lookback_hours`` before it, with their
  partition ``hour`` (detectors reading raw CDRs), or ``features``: the caller_features rows of the
  target hours (SDHF);
- ``targets(hour)``: the partition hours to detect for;
- ``ref_trunks``, ``ref_ranges``, ``ref_high_risk``, ``ref_whitelist``: the reference files.

Whitelisted subjects (``reference/whitelist.csv``) are dropped before anything is written: a whitelisted
subject never produces a detection, so never an alert. Every detection's evidence records the versions
of the reference files it was computed with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from sentinel_pipeline import duck, lake, reference, store
from sentinel_pipeline.detectors.spec import DetectorSpec
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


@dataclass
class DetectionSummary:
    detections: int
    by_severity: dict[str, int]
    by_hour: dict[datetime, int]  # every partition hour of the run, 0 when nothing was found
    top: list[dict]


def source_view_sql(spec: DetectorSpec, settings: Settings, files: list[str]) -> str:
    """The view the detector's SQL reads: ``cdrs`` (raw rows with their partition ``hour``) or ``features``."""
    if spec.source == "caller_features":
        return f"create temp view features as select * from read_parquet({literal(files)})"
    return (
        f"create temp view cdrs as select *, {duck.hour_sql('seizure_time', settings)} as hour "
        f"from read_parquet({literal(files)})"
    )


def session_sql(spec: DetectorSpec, params, settings: Settings, hours: list[datetime], files: list[str]) -> str:
    """The whole session as one script: the source view, the targets, and the detector's query (the
    reference tables are created by ``reference.register_duckdb``)."""
    targets = ", ".join(f"({literal(h)})" for h in hours)
    return (
        "set TimeZone = 'UTC';\n"
        f"{source_view_sql(spec, settings, files)};\n"
        f"create temp table targets as select * from (values {targets}) t(hour);\n"
        f"{spec.sql(params, settings).strip()};\n"
    )


def run_detector(
    settings: Settings,
    conn: psycopg.Connection,
    spec: DetectorSpec,
    params,
    hours: list[datetime],
    run_id: str | None,
    ref: reference.ReferenceData | None = None,
) -> DetectionSummary:
    """Run ``spec`` with ``params`` over ``hours`` and replace its detections for those hours."""
    spec.check(params, settings)
    ref = ref or reference.load(settings.reference_dir)
    files = lake.existing_urls(settings.lake, spec.source, hours, params.lookback_hours)
    rows: list[dict] = []
    if files:
        with duck.connect(settings) as con:
            # Detection rows are read back as UTC instants, whatever the source time zone.
            con.execute("set TimeZone = 'UTC'")
            reference.register_duckdb(con, ref)
            con.execute(source_view_sql(spec, settings, files))
            con.execute("create temp table targets (hour timestamptz)")
            con.executemany("insert into targets values (?)", [[h] for h in hours])
            relation = con.sql(spec.sql(params, settings))
            rows = [dict(zip(relation.columns, values)) for values in relation.fetchall()]
    rows = [r for r in rows if not ref.is_whitelisted(r["subject_type"], r["subject"])]
    for row in rows:
        row["metrics"] = {**json.loads(row["metrics"]), "reference_versions": ref.versions}
    count = store.replace_detections(conn, spec.name, hours, rows, run_id)
    by_severity: dict[str, int] = {}
    by_hour = dict.fromkeys(hours, 0)
    for row in rows:
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + 1
        by_hour[row["partition_hour"]] += 1
    top = sorted(rows, key=lambda r: r["score"], reverse=True)[:10]
    return DetectionSummary(count, by_severity, by_hour, top)

"""Detectors: each module holds one detector's parameters, its SQL, severity and score.

Every detector yields rows with the columns of ``sentinel.detections`` (see ``store.replace_detections``).
Two runners:

- ``run_detector``: SQL over the ``caller_features`` relation (``sdhf``);
- ``run_raw_detector``: SQL over the ``raw_cdrs`` lake of each target hour's trailing window, with the
  reference tables (see ``reference.register_duckdb``) and a ``targets`` table of partition hours.

Both drop whitelisted subjects (``reference/whitelist.csv``) before anything is written: a whitelisted
subject never produces a detection, so never an alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from sentinel_pipeline import cdr, features, ingest, lake, reference, store
from sentinel_pipeline.settings import Settings


@dataclass
class DetectionSummary:
    detections: int
    by_severity: dict[str, int]
    top: list[dict]


def run_detector(
    settings: Settings,
    conn: psycopg.Connection,
    detector: str,
    detect_sql,
    hours: list[datetime],
    run_id: str | None,
) -> DetectionSummary:
    """Run one detector over the features of ``hours`` and replace its detections for those hours.

    ``detect_sql(relation)`` returns the detector's SQL over a relation with the caller_features columns.
    """
    files = lake.existing_paths(settings.lake_dir, features.ASSET, hours)
    rows: list[dict] = []
    if files:
        con = cdr.connect_duckdb(settings)
        # Detection rows are read back as UTC instants, whatever the source time zone.
        con.execute("set TimeZone = 'UTC'")
        relation = con.sql(detect_sql(f"read_parquet({lake.parquet_list_sql(files)})"))
        rows = [dict(zip(relation.columns, values)) for values in relation.fetchall()]
        con.close()
    return _write(conn, detector, hours, rows, run_id, reference.load(settings.reference_dir))


def _write(conn, detector: str, hours: list[datetime], rows: list[dict], run_id, ref) -> DetectionSummary:
    rows = [r for r in rows if not ref.is_whitelisted(r["subject_type"], r["subject"])]
    count = store.replace_detections(conn, detector, hours, rows, run_id)
    by_severity: dict[str, int] = {}
    for row in rows:
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + 1
    top = sorted(rows, key=lambda r: r["score"], reverse=True)[:10]
    return DetectionSummary(
        count, by_severity, [{**r, "metrics": _as_dict(r["metrics"])} for r in top]
    )


def _as_dict(metrics) -> dict:
    return json.loads(metrics) if isinstance(metrics, str) else metrics


def cdrs_view_sql(settings: Settings, files: list[str]) -> str:
    """The raw_cdrs rows of ``files`` plus their partition ``hour``."""
    return (
        f"select *, {cdr.hour_sql('seizure_time', settings)} as hour "
        f"from read_parquet({lake.parquet_list_sql(files)})"
    )


def run_raw_detector(
    settings: Settings,
    conn: psycopg.Connection,
    detector: str,
    detect_sql,
    hours: list[datetime],
    run_id: str | None,
    lookback_hours: int,
    ref: reference.ReferenceData | None = None,
) -> DetectionSummary:
    """Run one detector over the raw CDRs of ``hours`` and the ``lookback_hours`` before each of them.

    In the DuckDB session ``detect_sql()`` runs in: the view ``cdrs`` (raw_cdrs rows with their partition
    ``hour``), the table ``targets(hour)`` (the partition hours to detect for) and the reference tables.
    Its rows' ``metrics`` get the reference files' versions added.
    """
    ref = ref or reference.load(settings.reference_dir)
    files = lake.existing_paths(settings.lake_dir, ingest.ASSET, hours, lookback_hours)
    rows: list[dict] = []
    if files:
        con = cdr.connect_duckdb(settings)
        con.execute("set TimeZone = 'UTC'")
        reference.register_duckdb(con, ref)
        con.execute(f"create temp view cdrs as {cdrs_view_sql(settings, files)}")
        con.execute("create temp table targets (hour timestamptz)")
        con.executemany("insert into targets values (?)", [[h] for h in hours])
        relation = con.sql(detect_sql())
        rows = [dict(zip(relation.columns, values)) for values in relation.fetchall()]
        con.close()
    for row in rows:
        row["metrics"] = {**json.loads(row["metrics"]), "reference_versions": ref.versions}
    return _write(conn, detector, hours, rows, run_id, ref)

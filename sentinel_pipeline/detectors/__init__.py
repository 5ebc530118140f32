"""Detectors: each module holds one detector's parameters, its SQL over the features, severity and score.

Every detector yields rows with the columns of ``sentinel.detections`` (see ``store.replace_detections``).
"""

from __future__ import annotations


import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from sentinel_pipeline import cdr, features, lake, store
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
    count = store.replace_detections(conn, detector, hours, rows, run_id)
    by_severity: dict[str, int] = {}
    for row in rows:
        by_severity[row["severity"]] = by_severity.get(row["severity"], 0) + 1
    top = sorted(rows, key=lambda r: r["score"], reverse=True)[:10]
    return DetectionSummary(
        count, by_severity, [{**r, "metrics": json.loads(r["metrics"])} for r in top]
    )

"""Suites over PostgreSQL: the volume of each raw hour against its baseline, and the contracts of the
detections and the alerts (small: every row of the run's hours at once)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone

import psycopg

from sentinel_pipeline import ingest, schema
from sentinel_pipeline.quality.gx import exact, modules, run_expectations
from sentinel_pipeline.quality.results import Outcome
from sentinel_pipeline.work import CLOSE_GRACE

# Volume: an hour with less than this share of its usual traffic (same hour, previous days) is an incident.
VOLUME_MIN_RATIO = 0.25
VOLUME_BASELINE_DAYS = 7
VOLUME_MIN_BASELINE_ROWS = 100  # below this, an hour is too quiet to judge

def raw_volume(conn: psycopg.Connection, hours: list[datetime], check: str = "raw_cdrs_volume",
               now: datetime | None = None) -> list[Outcome]:
    """Each hour's accepted rows against the median of the same hour on the previous days: an hour with
    no rows, or far fewer than usual, is a missing or broken feed. An hour still filling (or over for
    less than CLOSE_GRACE) is not judged yet."""
    now = now or datetime.now(timezone.utc)
    earlier = [h - timedelta(days=d) for h in hours for d in range(1, VOLUME_BASELINE_DAYS + 1)]
    counts = dict(conn.execute(
        "select hour, rows_accepted from sentinel.raw_partitions where hour = any(%s)", [hours + earlier]
    ).fetchall())
    outcomes = []
    for h in hours:
        history = [counts[e] for e in (h - timedelta(days=d) for d in range(1, VOLUME_BASELINE_DAYS + 1)) if e in counts]
        baseline = statistics.median(history) if history else None
        rows = counts.get(h)
        observed = {"rows_accepted": rows, "baseline_median": baseline, "baseline_days": len(history),
                    "history": history}
        over = h + timedelta(hours=1) + CLOSE_GRACE <= now
        judged = over and baseline is not None and baseline >= VOLUME_MIN_BASELINE_ROWS
        ok = (not judged) or (rows or 0) >= VOLUME_MIN_RATIO * baseline
        e = exact("hour_volume_near_baseline", ok, observed,
                  min_ratio=VOLUME_MIN_RATIO, baseline="median of the same hour, previous days")
        outcome = Outcome.of(ingest.ASSET, check, h, [e], rows or 0)
        if not ok:
            outcome.summary = (
                f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows accepted, usually {baseline:g} "
                f"(same hour, {len(history)} previous days): " + ("no data: feed stopped?" if not rows else "feed partly missing?")
            )
        elif not over:
            outcome.summary = f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows so far; the hour is not over yet"
        elif not judged:
            outcome.summary = f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows; no baseline yet to judge the volume by"
        outcomes.append(outcome)
    return outcomes


def _frame(conn: psycopg.Connection, sql: str, params: dict):
    import pandas as pd

    cur = conn.execute(sql, params)
    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def detections_contract(conn: psycopg.Connection, detector: str, asset: str, hours: list[datetime],
                        check: str = "detections_contract") -> Outcome:
    _, gxe, _ = modules()
    frame = _frame(conn, """
        select subject_type, subject, severity::text as severity, score,
               extract(epoch from last_seen - first_seen) as seen_span_s,
               extract(epoch from window_end - window_start) as window_s,
               partition_hour::text as partition_hour, metrics is not null as has_metrics
        from sentinel.detections
        where detector = %(detector)s and partition_hour = any(%(hours)s::timestamptz[])
        """, {"detector": detector, "hours": hours})
    if frame.empty:
        return Outcome.of(asset, check, None, [], 0)
    expectations = run_expectations(check, frame, [
        gxe.ExpectColumnValuesToNotBeNull(column="subject"),
        gxe.ExpectColumnValuesToBeInSet(column="subject_type", value_set=list(schema.SUBJECT_TYPES)),
        gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=list(schema.SEVERITIES)),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="seen_span_s", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="window_s", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="has_metrics", value_set=[True]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["partition_hour", "subject_type", "subject"]),
    ])
    return Outcome.of(asset, check, None, expectations, len(frame))


def alerts_contract(conn: psycopg.Connection, hours: list[datetime], check: str = "alerts_contract") -> Outcome:
    """The alerts of every subject detected in the run's hours: valid triage states, severities, scores."""
    _, gxe, _ = modules()
    frame = _frame(conn, """
        select a.detector, a.subject_type, a.subject, a.severity::text as severity, a.score, a.status,
               extract(epoch from a.last_seen - a.first_seen) as seen_span_s, a.evidence is not null as has_evidence
        from sentinel.alerts a
        where (a.detector, a.subject_type, a.subject) in (
            select detector, subject_type, subject from sentinel.detections
            where partition_hour = any(%(hours)s::timestamptz[]))
        """, {"hours": hours})
    if frame.empty:
        return Outcome.of("alerts", check, None, [], 0)
    expectations = run_expectations(check, frame, [
        gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=list(schema.SEVERITIES)),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(schema.ALERT_STATUSES)),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="seen_span_s", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="has_evidence", value_set=[True]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["detector", "subject_type", "subject"]),
    ])
    return Outcome.of("alerts", check, None, expectations, len(frame))



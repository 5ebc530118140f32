"""Writes to the analysts' tables: ``sentinel.detections`` and ``sentinel.alerts``.

The contract (docs/architecture.md, brief "Alerts"):
- a detector's rows for a set of partition hours are replaced atomically (``replace_detections``);
- an alert is one case per (detector, subject_type, subject), recomputed from ALL of that subject's
  detections of that detector, so re-running or back-filling hours in any order gives the same alerts
  (``refresh_alerts``). The pipeline writes only the facts; ``status``, ``reviewed``, ``reviewer_notes``
  and ``detected_at`` belong to the analysts / the first insert and are never overwritten.

Both functions run in one transaction (a savepoint if the caller already has one open) with the session
time zone set to UTC for that transaction, so naive datetimes mean UTC and timestamps inside evidence JSON
always render with ``+00:00`` (the evidence comparison does not depend on a session's TimeZone).
The SQL is kept as plain text so it can be pasted into psql.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

import psycopg
from psycopg.types.json import Jsonb

# Columns written by replace_detections, in COPY order (detected_at takes its default, now()).
DETECTION_COLUMNS = (
    "detector",
    "partition_hour",
    "subject_type",
    "subject",
    "window_start",
    "window_end",
    "severity",
    "score",
    "first_seen",
    "last_seen",
    "metrics",
    "run_id",
)
_REQUIRED = frozenset(DETECTION_COLUMNS) - {"detector", "run_id"}

SET_UTC = "set local time zone 'UTC'"

DELETE_DETECTIONS = """
delete from sentinel.detections
where detector = %(detector)s
  and partition_hour = any(%(hours)s::timestamptz[])
"""

COPY_DETECTIONS = f"copy sentinel.detections ({', '.join(DETECTION_COLUMNS)}) from stdin"

# One statement: recompute the case of every subject detected by %(detector)s in %(hours)s from all of
# its detections of that detector, and upsert it. Returns one row: how many alerts were inserted/updated.
REFRESH_ALERTS = """
with touched as (
    -- subjects this refresh is about: detected by the detector in the given hours
    select distinct subject_type, subject
    from sentinel.detections
    where detector = %(detector)s
      and partition_hour = any(%(hours)s::timestamptz[])
),
history as (
    -- all of those subjects' detections of this detector, whatever the hour
    select d.*,
           row_number() over (partition by d.subject_type, d.subject
                              order by d.partition_hour desc) as recency
    from sentinel.detections d
    where d.detector = %(detector)s
      and (d.subject_type, d.subject) in (select subject_type, subject from touched)
),
ranked as (
    -- per detection, the facts of its subject's whole history (one pass, no self-join)
    select h.*,
           count(*)          over whole_history as detections,
           min(h.first_seen) over whole_history as case_first_seen,
           max(h.last_seen)  over whole_history as case_last_seen,
           -- the 20 most recent partition hours, newest first (the window is ordered newest first)
           jsonb_agg(h.partition_hour) filter (where h.recency <= 20) over whole_history as partitions,
           row_number() over (partition by h.subject_type, h.subject
                              order by h.score desc, h.partition_hour desc) as by_score
    from history h
    window whole_history as (partition by h.subject_type, h.subject
                             order by h.partition_hour desc
                             rows between unbounded preceding and unbounded following)
),
cases as (
    -- one row per subject: the facts of its highest-scoring detection (ties: the latest hour)
    select detector, subject_type, subject, severity, score,
           case_first_seen as first_seen,
           case_last_seen  as last_seen,
           metrics || jsonb_build_object(
               'partition_hour', partition_hour,
               'window_start',   window_start,
               'window_end',     window_end,
               'detections',     detections,
               'partitions',     partitions
           ) as evidence
    from ranked
    where by_score = 1
),
upserted as (
    insert into sentinel.alerts as a
           (detector, subject_type, subject, severity, score, first_seen, last_seen, evidence)
    select detector, subject_type, subject, severity, score, first_seen, last_seen, evidence
    from cases
    on conflict (detector, subject_type, subject) do update
       set severity   = excluded.severity,
           score      = excluded.score,
           first_seen = excluded.first_seen,
           last_seen  = excluded.last_seen,
           evidence   = excluded.evidence,
           updated_at = now()
       -- leave the row (and updated_at) alone when no fact changed
       where (a.severity, a.score, a.first_seen, a.last_seen, a.evidence)
             is distinct from
             (excluded.severity, excluded.score, excluded.first_seen, excluded.last_seen, excluded.evidence)
    returning (xmax = 0) as inserted  -- xmax is 0 for a freshly inserted row version
)
select count(*) filter (where inserted)     as new,
       count(*) filter (where not inserted) as updated
from upserted
"""


def _utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"partition hours must be datetimes, got {value!r}")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _hours(partition_hours: Iterable[datetime]) -> list[datetime]:
    hours = sorted({_utc(h) for h in partition_hours})
    if not hours:
        raise ValueError("partition_hours is empty")
    return hours


def _iter_rows(rows: Any) -> Iterator[Mapping[str, Any]]:
    """Dicts from an iterable of mappings, or from a pyarrow Table / RecordBatch (batch by batch)."""
    to_batches = getattr(rows, "to_batches", None)
    if to_batches is not None:  # pyarrow.Table
        for batch in to_batches(max_chunksize=10_000):
            yield from batch.to_pylist()
    elif hasattr(rows, "to_pylist"):  # pyarrow.RecordBatch
        yield from rows.to_pylist()
    else:
        yield from rows


def _metrics(value: Any) -> Any:
    if isinstance(value, str):  # already JSON text (e.g. a string column in an Arrow table)
        return value
    if value is None:
        raise ValueError("a detection's metrics must be a dict (use {} for none), got None")
    return Jsonb(value)


def replace_detections(
    conn: psycopg.Connection,
    detector: str,
    partition_hours: list[datetime],
    rows: Iterable[Mapping[str, Any]] | Any,
    run_id: str | None,
) -> int:
    """Replace ``detector``'s detections for ``partition_hours`` with ``rows``, in one transaction.

    ``rows``: dicts (or a pyarrow Table) with the columns of sentinel.detections except ``detected_at``;
    ``detector`` and ``run_id`` may be omitted from the rows (the arguments fill them; a row's detector
    must match). Every row's ``partition_hour`` must be one of ``partition_hours``, so that a re-run of
    those hours replaces it. ``metrics`` is a dict (or JSON text). Naive datetimes are UTC.
    Returns the number of rows written. On any error nothing changes.
    """
    hours = _hours(partition_hours)
    allowed = set(hours)
    count = 0
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(SET_UTC)
            cur.execute(DELETE_DETECTIONS, {"detector": detector, "hours": hours})
            with cur.copy(COPY_DETECTIONS) as copy:
                for row in _iter_rows(rows):
                    missing = _REQUIRED.difference(row)
                    if missing:
                        raise ValueError(f"detection row is missing {sorted(missing)}: {dict(row)!r}")
                    if row.get("detector", detector) != detector:
                        raise ValueError(f"row for detector {row['detector']!r} passed to replace {detector!r}")
                    hour = _utc(row["partition_hour"])
                    if hour not in allowed:
                        raise ValueError(
                            f"row for partition hour {hour.isoformat()} is outside the hours being replaced"
                        )
                    copy.write_row(
                        (
                            detector,
                            hour,
                            row["subject_type"],
                            row["subject"],
                            row["window_start"],
                            row["window_end"],
                            row["severity"],
                            row["score"],
                            row["first_seen"],
                            row["last_seen"],
                            _metrics(row["metrics"]),
                            run_id,
                        )
                    )
                    count += 1
    return count


def refresh_alerts(conn: psycopg.Connection, detector: str, partition_hours: list[datetime]) -> dict[str, int]:
    """Recompute and upsert the alert of every subject ``detector`` detected in ``partition_hours``.

    Each case comes from all of the subject's detections of ``detector``: first_seen = min, last_seen =
    max; severity, score and evidence from the highest-scoring detection (ties: the latest hour), evidence
    being its metrics plus partition_hour, window_start, window_end, detections (count) and partitions
    (up to 20 most recent hours). Triage fields and detected_at are never written; updated_at moves only
    when a fact changed. Returns ``{"new": inserted, "updated": changed}``.
    """
    hours = _hours(partition_hours)
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(SET_UTC)
            cur.execute(REFRESH_ALERTS, {"detector": detector, "hours": hours})
            new, updated = cur.fetchone()
    return {"new": int(new), "updated": int(updated)}

"""Writes to the analysts' tables: ``sentinel.detections``, ``sentinel.alerts`` and their ``sentinel.cases``.

The contract (docs/analysts.md, README "Alerts: what analysts query"):
- a detector's rows for a set of partition hours are replaced atomically (``replace_detections``);
- an alert is one case per (detector, subject_type, subject), recomputed from ALL of that subject's
  detections of that detector, so re-running or back-filling hours in any order gives the same alerts
  (``refresh_alerts``). The pipeline writes only the facts; ``status``, ``reviewed``, ``reviewer_notes``
  and ``detected_at`` belong to the analysts / the first insert, and only the alert lifecycle (reopen,
  escalate: see ``refresh_alerts``) ever changes status / reviewed;
- every alert is in exactly one case: ``refresh_alerts`` calls ``sentinel.refresh_cases()`` (migration
  033) in its own transaction, which puts new alerts into cases and keeps the cases' facts current.

Both functions run in one transaction (a savepoint if the caller already has one open) with the session
time zone set to UTC for that transaction, so naive datetimes mean UTC and timestamps inside evidence JSON
always render with ``+00:00`` (the evidence comparison does not depend on a session's TimeZone).
The SQL is kept as plain text so it can be pasted into psql.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

import psycopg
from psycopg.types.json import Jsonb

from sentinel_pipeline import schema

log = logging.getLogger(__name__)

# Columns written by replace_detections, in COPY order (detected_at takes its default, now()).
DETECTION_COLUMNS = tuple(c for c in schema.DETECTION_COLUMNS if c != "detected_at")
_REQUIRED = frozenset(DETECTION_COLUMNS) - {"detector", "run_id"}

SET_UTC = "set local time zone 'UTC'"
# Marks this transaction's alert updates as the pipeline's, so the triage trigger (migration 020) does not
# stamp reviewed_by / reviewed_at when a case is reopened.
SET_PIPELINE_ACTOR = "select set_config('sentinel.actor', 'pipeline', true)"

# Puts new alerts into cases and brings the facts of the cases whose alerts changed up to date.
REFRESH_CASES = "select * from sentinel.refresh_cases()"

# The channel new, reopened and escalated alerts are published on (docs/analysts.md, "Live notifications").
NOTIFY_CHANNEL = "sentinel_alerts"

DELETE_DETECTIONS = """
delete from sentinel.detections
where detector = %(detector)s
  and partition_hour = any(%(hours)s::timestamptz[])
"""

COPY_DETECTIONS = f"copy sentinel.detections ({', '.join(DETECTION_COLUMNS)}) from stdin"

# One statement: recompute the case of every subject detected by %(detector)s in %(hours)s from all of
# its detections of that detector, upsert it, apply the lifecycle (whitelist, reopen, escalate) and
# NOTIFY %(channel)s of every new, reopened or escalated case. Returns one row: how many alerts were
# inserted / updated, and how many notifications were sent.
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
lifecycle as (
    -- what this refresh means for each case (docs/analysts.md, "Lifecycle"), from the case as it stood
    -- before this statement (every part of one statement reads the same snapshot):
    --   new       no case yet, and the subject is not whitelisted;
    --   reopened  a closed or false_positive (no longer whitelisted) case with activity after its last_seen;
    --   escalated an open/investigating/confirmed case whose severity rose, or a confirmed case with
    --             activity after its last_seen (the fraud goes on);
    --   null      nothing to tell anyone: only facts changed, or the subject is whitelisted.
    -- A new case takes its alert_id here, so that its notification needs no join with the insert's result.
    -- (Joins here are with tables, by their unique indexes, never CTE with CTE: a fresh database without
    -- statistics must not get a nested loop over two CTEs of 50,000 rows.)
    select c.*,
           coalesce(p.alert_id, nextval(pg_get_serial_sequence('sentinel.alerts', 'alert_id'))) as alert_id,
           p.status      as previous_status,
           p.severity    as previous_severity,
           p.detected_at as previous_detected_at,
           s.suppression_id is not null as suppressed,
           case
               when s.suppression_id is not null then null
               when p.alert_id is null then 'new'
               when p.status in ('closed', 'false_positive') and c.last_seen > p.last_seen then 'reopened'
               when p.status in ('open', 'investigating', 'confirmed') and c.severity > p.severity then 'escalated'
               when p.status = 'confirmed' and c.last_seen > p.last_seen then 'escalated'
           end as event
    from cases c
    left join sentinel.alerts p
           on p.detector = c.detector and p.subject_type = c.subject_type and p.subject = c.subject
    left join sentinel.suppressions s
           on s.detector = c.detector and s.subject_type = c.subject_type and s.subject = c.subject
          and s.lifted_at is null
),
upserted as (
    -- A whitelisted subject's new case starts as false_positive. On conflict the facts are replaced,
    -- and the event (passed in excluded.last_event) reopens or re-queues the case; otherwise the
    -- analysts' triage fields keep their values.
    insert into sentinel.alerts as a
           (alert_id, detector, subject_type, subject, severity, score, first_seen, last_seen, evidence,
            status, last_event, last_event_at)
    select alert_id, detector, subject_type, subject, severity, score, first_seen, last_seen, evidence,
           case when suppressed then 'false_positive' else 'open' end,
           event,
           case when event is not null then now() end
    from lifecycle
    -- Sorting makes lifecycle read all of its rows before the first insert: a lookup of sentinel.alerts
    -- planned as a scan of an (at planning time) empty table must not rescan the pages being inserted.
    order by alert_id
    on conflict (detector, subject_type, subject) do update
       set severity      = excluded.severity,
           score         = excluded.score,
           first_seen    = excluded.first_seen,
           last_seen     = excluded.last_seen,
           evidence      = excluded.evidence,
           updated_at    = now(),
           status        = case when excluded.last_event = 'reopened' then 'open' else a.status end,
           reviewed      = case when excluded.last_event in ('reopened', 'escalated') then false
                                else a.reviewed end,
           last_event    = coalesce(excluded.last_event, a.last_event),
           last_event_at = coalesce(excluded.last_event_at, a.last_event_at)
       -- leave the row (and updated_at) alone when no fact changed
       where (a.severity, a.score, a.first_seen, a.last_seen, a.evidence)
             is distinct from
             (excluded.severity, excluded.score, excluded.first_seen, excluded.last_seen, excluded.evidence)
    returning (xmax = 0) as inserted  -- xmax is 0 for a freshly inserted row version
),
notified as (
    -- one NOTIFY per new, reopened or escalated case (an event implies a changed fact, so its row is
    -- written above); delivered when the transaction commits, dropped if it rolls back
    select pg_notify(%(channel)s, json_build_object(
               'event',             event,
               'alert_id',          alert_id,
               'detector',          detector,
               'subject_type',      subject_type,
               'subject',           subject,
               'severity',          severity,
               'previous_severity', previous_severity,
               'score',             score,
               'status',            case when event in ('new', 'reopened') then 'open' else previous_status end,
               'first_seen',        first_seen,
               'last_seen',         last_seen,
               'detected_at',       coalesce(previous_detected_at, now())
           )::text)
    from lifecycle
    where event is not null
)
select count(*) filter (where inserted)     as new,
       count(*) filter (where not inserted) as updated,
       (select count(*) from notified)      as notified
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
    (up to 20 most recent hours). detected_at is never written; updated_at moves only when a fact changed.

    The lifecycle (docs/analysts.md): a subject with an active row in sentinel.suppressions (the
    whitelist an analyst's false_positive creates) never notifies or reopens, and its new case starts as
    false_positive; a closed (or no longer whitelisted false_positive) case with activity after its
    last_seen is reopened (status open, reviewed false); an open, investigating or confirmed case whose
    severity rises, or a confirmed case with new activity, is escalated (reviewed false, status kept).
    Otherwise the triage fields (status, reviewed, reviewer_notes, reviewed_by/at) are never written.
    Every new, reopened or escalated case is published with NOTIFY on ``NOTIFY_CHANNEL`` when the
    transaction commits. A refresh that changes no fact changes nothing and notifies nobody, so
    re-running the same hours is silent. New alerts then join their cases (``REFRESH_CASES``). Returns ``{"new": inserted, "updated": changed}``.
    """
    hours = _hours(partition_hours)
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute(SET_UTC)
            cur.execute(SET_PIPELINE_ACTOR)
            cur.execute(REFRESH_ALERTS, {"detector": detector, "hours": hours, "channel": NOTIFY_CHANNEL})
            new, updated, notified = cur.fetchone()
            cur.execute(REFRESH_CASES)
            # set local lasts until the outer transaction ends when this one is a savepoint: undo it
            cur.execute("select set_config('sentinel.actor', '', true)")
    if notified:
        log.debug("alerts %s: %d new, %d updated, %d notified on %s", detector, new, updated, notified, NOTIFY_CHANNEL)
    return {"new": int(new), "updated": int(updated)}

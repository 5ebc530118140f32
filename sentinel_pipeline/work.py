"""What is still to do, derived from state: the registered files against what the pipeline last built.

An hour's raw input is the set of registered files with records in it; its **raw fingerprint** is an md5
of the ingest settings and those files' ids (``ingest.raw_fingerprint``; ``EXPECTED_RAW`` computes the same
in SQL). An hour
is **done** when the last run covering it finished with the raw inputs of its window (the hour and the 23
before it, the longest window every derived asset reads) exactly as they are now: the ``alerts`` asset,
a run's last step, records each hour's window fingerprint in ``sentinel.pipeline_hours`` (``record_done``).

``pending_hours`` compares the two: every hour whose window holds registered data (or held it when it
was last done) and whose expected window fingerprint differs from the recorded one still needs a run.
Nothing here depends on a run having been requested or having told anyone it failed: a crash at any
moment leaves the hours pending, and the next tick requests them again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import psycopg

from sentinel_pipeline.ingest import raw_signature
from sentinel_pipeline.settings import Settings

# The window an hour's derived partitions read: the hour and the 23 before it.
WINDOW_LOOKBACK_HOURS = 23


def window_fingerprint(raw_fingerprints: list[str]) -> str:
    """md5 of the window's raw fingerprints (of the hours with files), in hour order."""
    return hashlib.md5(",".join(raw_fingerprints).encode()).hexdigest()


EXPECTED_RAW = """
select h as hour, md5(%(signature)s || ':' || string_agg(file_id::text, ',' order by file_id)) as fingerprint
from sentinel.landed_files, unnest(hours) as h
where status = 'registered'
group by h
"""

RECORD_DONE = """
insert into sentinel.pipeline_hours as p (hour, window_fingerprint, run_id)
select t.hour,
       md5(coalesce((select string_agg(r.input_fingerprint, ',' order by r.hour)
                     from sentinel.raw_partitions r
                     where r.files > 0 and r.hour between t.hour - interval '23 hours' and t.hour), '')),
       %(run_id)s
from unnest(%(hours)s::timestamptz[]) as t(hour)
on conflict (hour) do update
   set window_fingerprint = excluded.window_fingerprint, run_id = excluded.run_id, completed_at = now()
"""


def pending_hours(conn: psycopg.Connection, settings: Settings, newest_hour: datetime) -> dict[datetime, str]:
    """Every hour up to ``newest_hour`` that the pipeline must (re)build, in order, with the window
    fingerprint it will have once built."""
    step = timedelta(hours=1)
    expected_raw = dict(conn.execute(EXPECTED_RAW, {"signature": raw_signature(settings)}).fetchall())
    recorded = dict(conn.execute("select hour, window_fingerprint from sentinel.pipeline_hours").fetchall())
    candidates = set(recorded)
    for hour in expected_raw:
        candidates.update(hour + k * step for k in range(WINDOW_LOOKBACK_HOURS + 1))
    pending = {}
    for hour in sorted(h for h in candidates if h <= newest_hour):
        window = [expected_raw[h] for h in (hour - k * step for k in range(WINDOW_LOOKBACK_HOURS, -1, -1))
                  if h in expected_raw]
        expected = window_fingerprint(window)
        if recorded.get(hour) != expected:
            pending[hour] = expected
    return pending


def record_done(conn: psycopg.Connection, hours: list[datetime], run_id: str | None) -> None:
    """Mark ``hours`` done with the raw inputs the lake holds now (called when a run's last step ends)."""
    conn.execute(RECORD_DONE, {"hours": hours, "run_id": run_id})


def contiguous_ranges(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """(first, last) of each run of consecutive hours."""
    ranges: list[list[datetime]] = []
    for hour in sorted(hours):
        if ranges and hour - ranges[-1][1] == timedelta(hours=1):
            ranges[-1][1] = hour
        else:
            ranges.append([hour, hour])
    return [(a, b) for a, b in ranges]

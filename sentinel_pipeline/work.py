"""What is still to do, derived from state: the registered files against what the pipeline last built.

An hour's raw input is the set of registered files with records in it; its **raw fingerprint** is an md5
of the ingest settings and those files' ids (``ingest.raw_fingerprint``; ``EXPECTED_RAW`` computes the same
in SQL). An hour
is **done** when the last run covering it finished with the raw inputs of its window (the hour and the 23
before it, the longest window every derived asset reads) exactly as they are now: a run's raw_cdrs step
keeps the raw fingerprints it leaves (``record_inputs``, ``sentinel.run_inputs``), and its last step, the
``alerts`` asset, records each hour's window fingerprint from them in ``sentinel.pipeline_hours``
(``record_done``). A run whose inputs changed under it (another run rebuilt a raw hour of its windows)
therefore records fingerprints that no longer match, and its hours stay pending.

``pending_hours`` compares the two. An hour still needs a run when its expected window fingerprint
differs from the recorded one: any hour whose window holds registered data, or held it when it was last
done. Within the live span (the last ``SENTINEL_AUTOMATION_LOOKBACK_HOURS``, from the first hour with data
in it up to now) every hour counts, data or not, and an hour last done while it was still filling needs
one more run once it has been over for ``CLOSE_GRACE``: the volume check then judges the complete hour,
so a feed that stops shows as a failed check on every silent hour (and, once nothing runs any more, as
raw_cdrs' failed freshness check). Nothing here depends on a run having been requested or having told
anyone it failed: a crash at any moment leaves the hours pending, and the next tick requests them again.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import psycopg

from sentinel_pipeline.ingest import raw_signature
from sentinel_pipeline.settings import Settings

# The window an hour's derived partitions read: the hour and the 23 before it.
WINDOW_LOOKBACK_HOURS = 23
# An hour is complete this long after it ends (late files of the hour have arrived).
CLOSE_GRACE = timedelta(minutes=15)


def window_fingerprint(raw_fingerprints: list[str]) -> str:
    """md5 of the window's raw fingerprints (of the hours with files), in hour order."""
    return hashlib.md5(",".join(raw_fingerprints).encode()).hexdigest()


EXPECTED_RAW = """
select h as hour, md5(%(signature)s || ':' || string_agg(file_id::text, ',' order by file_id)) as fingerprint
from sentinel.landed_files, unnest(hours) as h
where status = 'registered'
group by h
"""

RECORD_INPUTS = """
insert into sentinel.run_inputs (run_id, hour, fingerprint, files)
select %(run_id)s, hour, input_fingerprint, files
from sentinel.raw_partitions
where hour between %(first)s::timestamptz - interval '23 hours' and %(last)s::timestamptz
on conflict (run_id, hour) do update set fingerprint = excluded.fingerprint, files = excluded.files
"""

# Only from the run's own inputs: a run without a raw_cdrs step records nothing.
RECORD_DONE = """
insert into sentinel.pipeline_hours as p (hour, window_fingerprint, run_id)
select t.hour,
       md5(coalesce((select string_agg(r.fingerprint, ',' order by r.hour)
                     from sentinel.run_inputs r
                     where r.run_id = %(run_id)s and r.files > 0
                       and r.hour between t.hour - interval '23 hours' and t.hour), '')),
       %(run_id)s
from unnest(%(hours)s::timestamptz[]) as t(hour)
where exists (select from sentinel.run_inputs where run_id = %(run_id)s)
on conflict (hour) do update
   set window_fingerprint = excluded.window_fingerprint, run_id = excluded.run_id, completed_at = now()
"""


def pending_hours(conn: psycopg.Connection, settings: Settings, newest_hour: datetime,
                  now: datetime | None = None) -> dict[datetime, str]:
    """Every hour up to ``newest_hour`` that the pipeline must (re)build, in order, with the window
    fingerprint it will have once built."""
    step = timedelta(hours=1)
    now = now or datetime.now(timezone.utc)
    expected_raw = dict(conn.execute(EXPECTED_RAW, {"signature": raw_signature(settings)}).fetchall())
    recorded = {hour: (fingerprint, completed) for hour, fingerprint, completed in conn.execute(
        "select hour, window_fingerprint, completed_at from sentinel.pipeline_hours").fetchall()}
    candidates = set(recorded)
    for hour in expected_raw:
        candidates.update(hour + k * step for k in range(WINDOW_LOOKBACK_HOURS + 1))
    live_from = now - timedelta(hours=settings.automation_lookback_hours)
    recent = [h for h in expected_raw if h >= live_from]
    hour = min(recent, default=newest_hour + step)
    while hour <= newest_hour:
        candidates.add(hour)
        hour += step
    pending = {}
    for hour in sorted(h for h in candidates if h <= newest_hour):
        window = [expected_raw[h] for h in (hour - k * step for k in range(WINDOW_LOOKBACK_HOURS, -1, -1))
                  if h in expected_raw]
        expected = window_fingerprint(window)
        fingerprint, completed = recorded.get(hour, (None, None))
        closed = hour + step + CLOSE_GRACE
        closing = hour >= live_from and closed <= now and (completed is None or completed < closed)
        if fingerprint != expected or closing:
            pending[hour] = expected
    return pending


# Raw hours of a run's look-back (before its first hour) that another run in progress is still to rebuild:
# their expected fingerprint is not the one written, and that run holds their lease.
LOOKBACK_IN_PROGRESS = """
select distinct l.run_id
from (""" + EXPECTED_RAW + """) as e
join sentinel.hour_leases as l using (hour)
left join sentinel.raw_partitions as r using (hour)
where e.hour >= %(first)s::timestamptz - interval '23 hours' and e.hour < %(first)s::timestamptz
  and r.input_fingerprint is distinct from e.fingerprint
  and l.run_id <> %(run_id)s
"""


def wait_for_lookback(conn: psycopg.Connection, settings: Settings, run_id: str, hours: list[datetime],
                      is_in_progress: Callable[[str], bool], *, timeout_seconds: float = 3600,
                      poll_seconds: float = 2, log=None) -> None:
    """Wait while a run in progress still has to rebuild a raw hour of this run's look-back (the 23 hours
    before its first): a back-fill split into runs of ``SENTINEL_RUN_MAX_HOURS`` runs them side by side,
    and each run's windows read the raw hours of the run before it. Called by the raw_cdrs step once its
    own hours are written, before ``record_inputs``; the derived steps then read raw inputs that are
    current. If the other run dies, or the wait times out, this run goes on: what it recorded no longer
    matches, so its hours stay pending and are run again (module docstring)."""
    deadline = time.monotonic() + timeout_seconds
    params = {"signature": raw_signature(settings), "first": min(hours), "run_id": run_id}
    told = False
    while time.monotonic() < deadline:
        holders = [r for (r,) in conn.execute(LOOKBACK_IN_PROGRESS, params).fetchall() if is_in_progress(r)]
        if not holders:
            return
        if log and not told:
            log.info(f"waiting for run(s) {', '.join(holders)} to write the raw hours this run's windows read")
            told = True
        time.sleep(poll_seconds)


def record_inputs(conn: psycopg.Connection, run_id: str, hours: list[datetime]) -> None:
    """Keep the raw fingerprints of every hour of ``hours``' windows as the run's raw_cdrs step leaves them
    (and forget those of runs that never finished, after a week)."""
    with conn.transaction():
        conn.execute("delete from sentinel.run_inputs where recorded_at < now() - interval '7 days'")
        conn.execute(RECORD_INPUTS, {"run_id": run_id, "first": min(hours), "last": max(hours)})


def record_done(conn: psycopg.Connection, hours: list[datetime], run_id: str) -> None:
    """Mark ``hours`` done with the inputs the run recorded (called when a run's last step ends)."""
    with conn.transaction():
        conn.execute(RECORD_DONE, {"hours": hours, "run_id": run_id})
        conn.execute("delete from sentinel.run_inputs where run_id = %s", [run_id])


def contiguous_ranges(hours: list[datetime], max_hours: int = 0) -> list[tuple[datetime, datetime]]:
    """(first, last) of each run of consecutive hours, at most ``max_hours`` long (0: no limit)."""
    step = timedelta(hours=1)
    ranges: list[list[datetime]] = []
    for hour in sorted(hours):
        if ranges and hour - ranges[-1][1] == step and not (
                max_hours and ranges[-1][1] - ranges[-1][0] >= (max_hours - 1) * step):
            ranges[-1][1] = hour
        else:
            ranges.append([hour, hour])
    return [(a, b) for a, b in ranges]

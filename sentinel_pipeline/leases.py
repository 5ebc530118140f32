"""Hour leases: two runs never write the same hours at once.

Every step of a run takes the leases of its run's partition hours before it writes anything
(``hold``), all or none in one statement, so two runs can never each hold part of the other's hours. A
lease held by another run is waited for while that run is in progress, and taken over once it is not
(finished, failed, or left STARTED by a process that died: ``is_in_progress`` says which). A run's
last step gives its leases back (``release``). Runs over different hours take different leases and run
side by side.

The leases live in PostgreSQL (``sentinel.hour_leases``), so they hold across the processes and pods a
run's steps may execute in.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

import psycopg

from sentinel_pipeline.errors import SentinelError

TAKE = """
with wanted as (select unnest(%(hours)s::timestamptz[]) as hour),
taken as (
    insert into sentinel.hour_leases as l (hour, run_id)
    select hour, %(run_id)s from wanted
    on conflict (hour) do update set run_id = excluded.run_id, leased_at = now()
        where l.run_id = excluded.run_id or l.run_id = any(%(stale)s::text[])
    returning hour
)
select (select count(*) from taken) = (select count(*) from wanted)
"""

HOLDERS = """
select distinct run_id from sentinel.hour_leases
where hour = any(%(hours)s::timestamptz[]) and run_id <> %(run_id)s
"""


def hold(conn: psycopg.Connection, run_id: str, hours: list[datetime], is_in_progress: Callable[[str], bool], *,
         timeout_seconds: float = 3600, poll_seconds: float = 2, log=None) -> None:
    """Take the leases of ``hours`` for ``run_id`` (already held ones are kept), waiting while another run
    in progress holds any of them. ``conn`` must be in autocommit mode."""
    deadline = time.monotonic() + timeout_seconds
    told = False
    while True:
        holders = [r for (r,) in conn.execute(HOLDERS, {"hours": hours, "run_id": run_id}).fetchall()]
        stale = [r for r in holders if not is_in_progress(r)]
        with conn.transaction():
            (complete,) = conn.execute(TAKE, {"hours": hours, "run_id": run_id, "stale": stale}).fetchone()
            if not complete:
                # Some hours are another live run's: take none of them, so that two runs never each
                # wait on the other's half.
                raise psycopg.Rollback()
        if complete:
            return
        if time.monotonic() > deadline:
            raise SentinelError(
                f"waited {timeout_seconds:.0f} s for run(s) {', '.join(sorted(set(holders) - set(stale)))} "
                "to finish with these hours; they are still in progress"
            )
        if log and not told:
            log.info(f"waiting for run(s) {', '.join(sorted(set(holders) - set(stale)))} working on the same hours")
            told = True
        time.sleep(poll_seconds)


def release(conn: psycopg.Connection, run_id: str) -> None:
    """Give back every lease of ``run_id``."""
    conn.execute("delete from sentinel.hour_leases where run_id = %s", [run_id])

"""Hour leases on a real PostgreSQL: all or none, waiting for a live holder, taking over a dead one's."""

import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest

from sentinel_pipeline import leases
from sentinel_pipeline.errors import SentinelError

H = [datetime(2026, 11, 26, h, tzinfo=timezone.utc) for h in range(6)]


def holders(conn) -> dict:
    return dict(conn.execute("select hour, run_id from sentinel.hour_leases").fetchall())


def test_overlapping_runs_take_all_or_none_and_wait(conn, database_url):
    live = {"a", "b"}
    leases.hold(conn, "a", H[0:3], live.__contains__)
    leases.hold(conn, "a", H[0:3], live.__contains__)  # again: kept, nothing to wait for
    with pytest.raises(SentinelError, match="still in progress"):
        leases.hold(conn, "b", H[2:5], live.__contains__, timeout_seconds=0.5, poll_seconds=0.1)
    assert holders(conn) == {h: "a" for h in H[0:3]}  # b took none of 3 and 4

    # b waits while a is in progress, and gets the hours once a gives them back.
    def run_b():
        with psycopg.connect(database_url, autocommit=True) as other:
            leases.hold(other, "b", H[2:5], live.__contains__, poll_seconds=0.05)

    waiter = threading.Thread(target=run_b)
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()
    leases.release(conn, "a")
    waiter.join(timeout=5)
    assert holders(conn) == {h: "b" for h in H[2:5]}


def test_a_dead_runs_leases_are_taken_over(conn):
    leases.hold(conn, "crashed", H[0:2], lambda run: True)
    leases.hold(conn, "next", H[1:3], lambda run: run != "crashed")  # the holder is no longer in progress
    assert holders(conn) == {H[0]: "crashed", H[1]: "next", H[2]: "next"}

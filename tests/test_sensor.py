"""The landing sensor, evaluated for real against files on disk and the registry in PostgreSQL."""

import json
import os
import time
from datetime import datetime, timezone

import dagster as dg

from resources import SentinelResource
from sensors.landing import landing_files
from sentinel_pipeline.settings import Settings

HEADER = "record_id,seizure_time,duration_s,a_number,b_number\n"


def drop(settings, name: str, rows: list[str], age_seconds: float = 3600) -> str:
    path = settings.landing.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return name


def call(record_id: str, when: str) -> str:
    return f"{record_id},{when},5,08031234567,08061234567"


INSTANCE = dg.DagsterInstance.ephemeral()


def tick(cursor: str | None = None, instance: dg.DagsterInstance = INSTANCE) -> dg.SensorResult:
    # The test's settings are in the environment (the ``settings`` fixture).
    sentinel = SentinelResource.from_settings(Settings.from_env())
    context = dg.build_sensor_context(cursor=cursor, resources={"sentinel": sentinel}, instance=instance)
    return landing_files(context)


def ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result.run_requests or []
    ]


def test_a_file_is_taken_once_and_runs_cover_its_hours(settings, conn):
    drop(settings, "a.csv", [call("1", "2026-11-26T10:05:00Z"), call("2", "2026-11-26T11:59:00Z")])
    first = tick()
    # The hours its records fall into, and the 23 after them whose 24 h windows include those.
    assert ranges(first) == [("2026-11-26-10:00", "2026-11-27-10:00")]
    # Until a run has done the work, every tick (after a restart too) asks for it again under the same run
    # key, which Dagster runs once; the file itself is registered once.
    assert [r.run_key for r in tick(first.cursor).run_requests] == [first.run_requests[0].run_key]
    assert [r.run_key for r in tick(None).run_requests] == [first.run_requests[0].run_key]
    assert conn.execute("select count(*) from sentinel.landed_files").fetchone() == (1,)


def test_no_request_while_a_run_over_the_hours_is_in_progress(settings, conn):
    drop(settings, "a.csv", [call("1", "2026-11-26T10:05:00Z")])
    instance = dg.DagsterInstance.ephemeral()
    (request,) = tick(instance=instance).run_requests
    instance.add_run(dg.DagsterRun(job_name="cdr_pipeline", run_id="queued-run", status=dg.DagsterRunStatus.NOT_STARTED,
                                   tags={**request.tags, "dagster/run_key": request.run_key}))
    assert ranges(tick(instance=instance)) == []
    # The run failed: the same work is asked for again, as a new attempt, once the back-off has passed.
    instance.report_run_failed(instance.get_run_by_id("queued-run"))
    assert ranges(tick(instance=instance)) == []  # failed a moment ago
    from sensors.landing import pending, plan_work

    plan = plan_work(pending(settings, SentinelResource.from_settings(settings)), settings, instance,
                     dg.get_dagster_logger(), now=time.time() + 120)
    assert [r.run_key for r in plan.requests] == [request.run_key.replace(":1", ":2")]


def test_files_being_written_are_not_read(settings, conn):
    drop(settings, ".b.csv.tmp", [call("1", "2026-11-26T10:05:00Z")])
    drop(settings, "b.csv.part", [call("1", "2026-11-26T10:05:00Z")])
    drop(settings, "_b.csv", [call("1", "2026-11-26T10:05:00Z")])
    fresh = drop(settings, "fresh.csv", [call("2", "2026-11-26T12:05:00Z")], age_seconds=0)
    first = tick()
    assert ranges(first) == []
    assert fresh in json.loads(first.cursor)["waiting"]
    # Unchanged since the previous tick: complete, taken now.
    assert ranges(tick(first.cursor)) == [("2026-11-26-12:00", "2026-11-27-11:00")]
    assert conn.execute("select array_agg(path) from sentinel.landed_files").fetchone() == (["fresh.csv"],)


def test_a_changed_file_is_processed_again_over_old_and_new_hours(settings, conn):
    drop(settings, "c.csv", [call("1", "2026-11-26T10:05:00Z")])
    assert ranges(tick()) == [("2026-11-26-10:00", "2026-11-27-09:00")]
    drop(settings, "c.csv", [call("1", "2026-11-26T10:05:00Z"), call("2", "2026-11-26T13:00:00Z")], age_seconds=60)
    second = tick()
    # Hour 10 must be rebuilt from the new version too, and hour 13 is new: one run from 10.
    assert ranges(second) == [("2026-11-26-10:00", "2026-11-27-12:00")]
    statuses = conn.execute("select status from sentinel.landed_files order by file_id").fetchall()
    assert statuses == [("superseded",), ("registered",)]


def test_forget_makes_a_file_new_again(settings, conn):
    from sentinel_pipeline import registry

    drop(settings, "d.csv", [call("1", "2026-11-26T10:05:00Z")])
    tick()
    assert registry.forget_file(conn, "d.csv") == [datetime(2026, 11, 26, 10, tzinfo=timezone.utc)]
    assert ranges(tick()) == [("2026-11-26-10:00", "2026-11-27-09:00")]


def test_work_per_tick_is_bounded(settings, conn, monkeypatch):
    monkeypatch.setenv("SENTINEL_SENSOR_MAX_FILES_PER_TICK", "2")
    for i in range(3):
        drop(settings, f"e{i}.csv", [call(str(i), f"2026-11-26T1{i}:05:00Z")], age_seconds=3600 - i)
    assert ranges(tick()) == [("2026-11-26-10:00", "2026-11-27-10:00")]  # hours 10 and 11, merged
    assert conn.execute("select count(*) from sentinel.landed_files").fetchone() == (2,)
    # The third file next tick; nothing has run yet, so the work is all three files' hours.
    assert ranges(tick()) == [("2026-11-26-10:00", "2026-11-27-11:00")]


def test_bytes_and_time_per_tick_are_bounded(settings, conn, monkeypatch):
    names = [drop(settings, f"b{i}.csv", [call(f"{i}-{j}", f"2026-11-26T1{i}:{j:02d}:00Z") for j in range(50)],
                  age_seconds=3600 - i) for i in range(3)]
    size = (settings.landing.root / names[0]).stat().st_size
    monkeypatch.setenv("SENTINEL_SENSOR_MAX_BYTES_PER_TICK", str(2 * size - 1))
    tick()
    assert conn.execute("select count(*) from sentinel.landed_files").fetchone() == (1,)  # one file at least
    # Out of time after the first batch: the rest waits for the next tick (each batch is one file here).
    monkeypatch.setenv("SENTINEL_SENSOR_MAX_BYTES_PER_TICK", str(10 * size))
    monkeypatch.setenv("SENTINEL_SENSOR_TICK_SECONDS", "0")
    monkeypatch.setattr("sentinel_pipeline.landing.BATCH_BYTES", 1)
    tick()
    assert conn.execute("select count(*) from sentinel.landed_files").fetchone() == (2,)
    tick()
    assert conn.execute("select count(*) from sentinel.landed_files").fetchone() == (3,)


def test_files_registered_by_a_tick_that_died_are_still_run(settings, conn):
    from sentinel_pipeline import landing

    drop(settings, "a.csv", [call("1", "2026-11-26T10:05:00Z")])
    # A tick registered the file, then died before it returned its run request.
    landing.register_landed_files(Settings.from_env(), conn, {})
    assert ranges(tick()) == [("2026-11-26-10:00", "2026-11-27-09:00")]


def test_unreadable_files_are_quarantined_not_retried(settings, conn):
    drop(settings, "bad.csv", [])
    (settings.landing.root / "bad.csv").write_text("just,some,columns\n1,2,3\n")
    os.utime(settings.landing.root / "bad.csv", (time.time() - 60, time.time() - 60))
    assert ranges(tick()) == []
    status, reason = conn.execute("select status, reason from sentinel.landed_files").fetchone()
    assert status == "quarantined" and "missing required columns" in reason
    assert ranges(tick()) == [] and conn.execute("select count(*) from sentinel.landed_files").fetchone() == (1,)


def test_contiguous_ranges():
    from sentinel_pipeline.work import contiguous_ranges

    h = [datetime(2026, 11, 26, x, tzinfo=timezone.utc) for x in (10, 11, 15)]
    assert contiguous_ranges(h) == [(h[0], h[1]), (h[2], h[2])]
    assert contiguous_ranges([]) == []

"""Beyond one machine, end to end with real Dagster runs on a real PostgreSQL: the lake and the landing zone
in buckets of a real S3 server (SeaweedFS, ``tests/s3.py``), and back-fills split into runs that execute side
by side. Each gives exactly the detections and alerts of one serial run on local directories."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sentinel_pipeline import lake, storage
from sentinel_pipeline.cli.process import process_landing
from sentinel_pipeline.generator import generate
from sentinel_pipeline.settings import Settings

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.s3"]
START = datetime(2026, 11, 20, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated day of CDRs (the scenario tests/test_pipeline.py runs), written once for the module."""
    out = tmp_path_factory.mktemp("generated")
    generate(out / "cdrs", start=START, hours=24, subscribers=1500, seed=7, labels_path=out / "labels.csv",
             scenario="sdhf_only")
    return out / "cdrs"


def results(conn) -> dict:
    """Everything the pipeline decided, without what depends on the order runs finished in (alert ids,
    wall-clock times, run ids, file ids)."""
    return {
        "detections": conn.execute(
            "select detector, partition_hour, subject_type, subject, severity, score, metrics::text"
            " from sentinel.detections order by 1, 2, 3, 4").fetchall(),
        "alerts": conn.execute(
            "select detector, subject_type, subject, severity, score, first_seen, last_seen, evidence::text"
            " from sentinel.alerts order by 1, 2, 3").fetchall(),
        "raw": conn.execute(
            "select hour, rows_accepted, rows_rejected, duplicates, files from sentinel.raw_partitions"
            " order by 1").fetchall(),
        "rejects": conn.execute("select count(*) from sentinel.cdr_rejects").fetchone(),
    }


def run_with(monkeypatch, settings: Settings, **env: str) -> Settings:
    """The settings of the environment with ``env`` set (the code under test reads the environment too)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def deliver(generated: Path, landing: storage.Location) -> int:
    """Put the generated files into a landing zone, as mediation would; returns how many."""
    files = sorted(generated.iterdir())
    for path in files:
        landing.write_bytes(path.name, path.read_bytes())
    return len(files)


_SERIAL: dict[str, dict] = {}


def serial_local(generated: Path, settings: Settings, monkeypatch, conn_for) -> dict:
    """The reference: one run over every hour, on local directories (computed once for the module: every
    test compares with the same generated day)."""
    if "results" not in _SERIAL:
        _SERIAL["results"] = _run_serial_local(generated, settings, monkeypatch, conn_for)
    return _SERIAL["results"]


def _run_serial_local(generated: Path, settings: Settings, monkeypatch, conn_for) -> dict:
    serial = run_with(monkeypatch, settings, SENTINEL_RUN_MAX_HOURS="0", SENTINEL_MAX_CONCURRENT_RUNS="1")
    shutil.copytree(generated, serial.landing.root)
    summary = process_landing(serial)
    assert summary.runs and not summary.failed
    with conn_for(serial.database_url) as conn:
        return results(conn)


@pytest.fixture
def conn_for():
    import psycopg

    return lambda url: psycopg.connect(url, autocommit=True)


def test_lake_and_landing_in_buckets_give_the_alerts_of_local_directories(
        generated, settings, monkeypatch, make_database, s3_server, s3_bucket, conn_for, tmp_path):
    expected = serial_local(generated, settings, monkeypatch, conn_for)
    assert expected["alerts"] and expected["detections"]

    s3 = run_with(monkeypatch, settings, SENTINEL_HOME=str(tmp_path / "s3-home"), DATABASE_URL=make_database(),
                  SENTINEL_LANDING_URL=f"s3://{s3_bucket}/landing", SENTINEL_LAKE_URL=f"s3://{s3_bucket}/lake",
                  SENTINEL_RUN_MAX_HOURS="0", SENTINEL_MAX_CONCURRENT_RUNS="1")
    delivered = deliver(generated, s3.landing)
    summary = process_landing(s3)
    assert summary.runs and not summary.failed
    with conn_for(s3.database_url) as conn:
        assert results(conn) == expected
        # Registered by key, size and ETag (the MD5 of a single PUT's content).
        versions = dict(conn.execute("select path, version from sentinel.landed_files").fetchall())
    assert len(versions) == delivered
    assert all(len(v) == 32 for v in versions.values())

    # The lake is in the bucket, one object per asset and hour; nothing was left on the local disk.
    keys = {e.key for e in s3.lake.list()}
    hour = max(h for h, *_ in expected["raw"])
    assert {lake.hour_key("raw_cdrs", hour), lake.hour_key("caller_features", hour)} <= keys
    assert not (tmp_path / "s3-home" / "lake").exists() and not (tmp_path / "s3-home" / "landing").exists()
    assert not list((tmp_path / "s3-home" / "landing_copies").iterdir())

    # Processing the bucket again changes nothing; a forgotten file is taken again, with the same result.
    assert process_landing(s3).runs == []
    from sentinel_pipeline import registry

    with conn_for(s3.database_url) as conn:
        assert registry.forget_file(conn, min(versions))
    again = process_landing(s3)
    assert again.runs and not again.failed
    with conn_for(s3.database_url) as conn:
        assert results(conn) == expected

    # A file delivered again with other content (same key, new ETag) is a new version: its hours are rebuilt.
    first = sorted(generated.glob("*.csv"))[0]
    lines = first.read_text().splitlines(keepends=True)
    s3.landing.write_bytes(first.name, "".join(lines[:-10]).encode())
    assert process_landing(s3).runs
    with conn_for(s3.database_url) as conn:
        versions = conn.execute("select status, rows_read from sentinel.landed_files where path = %s"
                                " order by file_id", [first.name]).fetchall()
        (read,) = conn.execute("select sum(rows_accepted + rows_rejected + duplicates) from sentinel.raw_partitions").fetchone()
    (old, old_rows), (new, new_rows) = versions
    assert (old, new, new_rows) == ("superseded", "registered", old_rows - 10)
    assert read == sum(accepted + rejected + dups for _, accepted, rejected, dups, _ in expected["raw"]) - 10


def test_a_missing_bucket_is_named(settings, monkeypatch, s3_env):
    broken = run_with(monkeypatch, settings, SENTINEL_LANDING_URL="s3://no-such-bucket-here/landing")
    with pytest.raises(storage.BucketNotFound, match="no-such-bucket-here"):
        process_landing(broken)


def test_split_backfill_run_side_by_side_equals_one_serial_run(generated, settings, monkeypatch, make_database,
                                                              conn_for, tmp_path):
    expected = serial_local(generated, settings, monkeypatch, conn_for)

    split = run_with(monkeypatch, settings, SENTINEL_HOME=str(tmp_path / "split"), DATABASE_URL=make_database(),
                     SENTINEL_LANDING_URL=str(tmp_path / "split" / "landing"),
                     SENTINEL_LAKE_URL=str(tmp_path / "split" / "lake"),
                     SENTINEL_RUN_MAX_HOURS="8", SENTINEL_MAX_CONCURRENT_RUNS="2")
    shutil.copytree(generated, split.landing.root)
    summary = process_landing(split)
    assert not summary.failed
    with conn_for(split.database_url) as conn:
        assert results(conn) == expected

    # The 47 hours to do (the day and the 23 after it, whose windows include it) went as runs of at most 8
    # hours, and runs did execute at the same time.
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = [instance.get_run_record_by_id(r) for r in summary.runs]
    assert len(records) >= 6
    spans = sorted((r.start_time, r.end_time) for r in records)
    assert any(b_start < a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    for r in records:
        tags = r.dagster_run.tags
        first = datetime.strptime(tags["dagster/asset_partition_range_start"], "%Y-%m-%d-%H:%M")
        last = datetime.strptime(tags["dagster/asset_partition_range_end"], "%Y-%m-%d-%H:%M")
        assert (last - first).total_seconds() / 3600 + 1 <= 8


def test_multiprocess_executor_equals_one_in_process_run(generated, settings, monkeypatch, make_database,
                                                         conn_for, tmp_path):
    expected = serial_local(generated, settings, monkeypatch, conn_for)

    parallel = run_with(monkeypatch, settings, SENTINEL_HOME=str(tmp_path / "mp"), DATABASE_URL=make_database(),
                        SENTINEL_LANDING_URL=str(tmp_path / "mp" / "landing"),
                        SENTINEL_LAKE_URL=str(tmp_path / "mp" / "lake"), SENTINEL_EXECUTOR="multiprocess")
    shutil.copytree(generated, parallel.landing.root)
    summary = process_landing(parallel)
    assert summary.runs and not summary.failed
    with conn_for(parallel.database_url) as conn:
        assert results(conn) == expected

    # Each step ran in a process of its own (on data this small a step takes less than a process start, so
    # whether two detectors overlap is left to the benchmark).
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        (run_id,) = summary.runs
        starts = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    steps = {r.event_log_entry.step_key for r in starts}
    assert {"raw_cdrs", "caller_features", "sdhf_detections", "alerts"} <= steps
    assert len({r.event_log_entry.dagster_event.pid for r in starts}) == len(starts)


def test_settings_for_storage_and_scale():
    env = {"SENTINEL_HOME": "/srv/sentinel"}
    assert Settings.from_env(env).lake_url == "/srv/sentinel/lake"
    assert Settings.from_env({**env, "SENTINEL_LAKE_DIR": "/data/lake"}).lake_url == "/data/lake"
    assert Settings.from_env({**env, "SENTINEL_LAKE_URL": "s3://b/lake/"}).lake_url == "s3://b/lake"
    assert Settings.from_env({**env, "SENTINEL_LANDING_URL": "file:///data/in"}).landing_url == "/data/in"
    with pytest.raises(ValueError, match="SENTINEL_LAKE_URL.*gs://"):
        Settings.from_env({"SENTINEL_LAKE_URL": "gs://b/lake"})
    with pytest.raises(ValueError, match="disagree"):
        Settings.from_env({"SENTINEL_LAKE_URL": "s3://b/lake", "SENTINEL_LAKE_DIR": "/data/lake"})
    with pytest.raises(ValueError, match="SENTINEL_EXECUTOR"):
        Settings.from_env({"SENTINEL_EXECUTOR": "celery"})
    assert dataclasses.asdict(Settings.from_env({}))["run_max_hours"] == 48

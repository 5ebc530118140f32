"""Fault injection: whatever fails, every CDR, detection and alert ends up exactly as one clean run leaves
them. Each case runs the real pipeline (`sentinel process` as a subprocess, real PostgreSQL, real files)
and compares the detections and alerts with a clean run of the same scenario."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from resources import SentinelResource
from sentinel_pipeline import database
from sentinel_pipeline.cli.process import process_landing
from sentinel_pipeline.generator import generate
from sentinel_pipeline.migrations import migrate
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.slow, pytest.mark.faults]
START = datetime(2026, 11, 20, tzinfo=timezone.utc)


def outcome(url: str) -> dict:
    """What a run leaves that must not depend on how it got there."""
    with psycopg.connect(url) as conn:
        return {
            "detections": conn.execute(
                "select detector, partition_hour, subject_type, subject, severity::text, score,"
                " metrics::text from sentinel.detections order by 1, 2, 3, 4"
            ).fetchall(),
            "alerts": conn.execute(
                "select detector, subject_type, subject, severity::text, score, first_seen, last_seen,"
                " evidence::text, status from sentinel.alerts order by 1, 2, 3"
            ).fetchall(),
            "raw": conn.execute(
                "select hour, rows_accepted, rows_rejected, duplicates from sentinel.raw_partitions"
                " where files > 0 order by 1"
            ).fetchall(),
            "rejects": conn.execute("select count(*) from sentinel.cdr_rejects").fetchone(),
        }


def scenario_settings(settings, url: str, home: Path):
    return dataclasses.replace(settings, database_url=url, home=home, landing_url=str(home / "landing"),
                               lake_url=str(home / "lake"))


def land(settings) -> None:
    generate(settings.landing.root, start=START, hours=24, subscribers=1500, seed=5, labels_path=settings.home / "labels.csv")


def env_for(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "DAGSTER_"))}
    env.update(SENTINEL_HOME=str(settings.home), SENTINEL_LANDING_URL=settings.landing_url,
               SENTINEL_LAKE_URL=settings.lake_url, DATABASE_URL=settings.database_url,
               SENTINEL_LANDING_SETTLE_SECONDS="0")
    return env


CLEAN: dict[str, dict] = {}  # the scenario is deterministic: one clean run serves every case


@pytest.fixture
def clean(settings, make_database, tmp_path, monkeypatch):
    """The outcome of one clean run of the scenario (its own database and home)."""
    if "outcome" in CLEAN:
        return CLEAN["outcome"]
    clean_settings = scenario_settings(settings, make_database(), tmp_path / "clean")
    land(clean_settings)
    with monkeypatch.context() as m:
        for key, value in env_for(clean_settings).items():
            m.setenv(key, value)
        summary = process_landing(clean_settings)
    assert summary.runs and not summary.failed
    CLEAN["outcome"] = outcome(clean_settings.database_url)
    return CLEAN["outcome"]


def wait_for(url: str, sql: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            if conn.execute(sql).fetchone()[0]:
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {sql}")


# When to kill: a condition on what the database shows.
MOMENTS = {
    "after registration": "select count(*) > 0 from sentinel.landed_files",
    "after raw_cdrs": "select count(*) > 0 from sentinel.raw_partitions",
    "among the detectors": "select count(*) > 0 from sentinel.detections",
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_of_sentinel_process_then_the_next_one_finishes_the_work(settings, make_database, tmp_path, clean,
                                                                         monkeypatch, moment):
    faulty = scenario_settings(settings, make_database(), tmp_path / "faulty")
    land(faulty)
    proc = subprocess.Popen([sys.executable, "-m", "sentinel_pipeline.cli", "process"], env=env_for(faulty),
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(faulty.database_url, MOMENTS[moment])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # The next `sentinel process` finds the unfinished work by itself.
    for key, value in env_for(faulty).items():
        monkeypatch.setenv(key, value)
    summary = process_landing(faulty)
    assert summary.runs and not summary.failed
    assert outcome(faulty.database_url) == clean
    # No partial lake file is visible, and nothing is left to do.
    assert not [p for p in faulty.lake.root.rglob("*") if p.is_file() and not p.name.endswith(".parquet")
                and not p.name.startswith(".")]
    assert process_landing(faulty).runs == []


def test_two_sentinel_process_at_once_end_as_one_clean_run(settings, make_database, tmp_path, clean):
    both = scenario_settings(settings, make_database(), tmp_path / "both")
    land(both)
    command = [sys.executable, "-m", "sentinel_pipeline.cli", "process", "--quiet"]
    procs = [subprocess.Popen(command, env=env_for(both), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert outcome(both.database_url) == clean
    # Each file was registered once, and no lease is left behind.
    with psycopg.connect(both.database_url) as conn:
        assert conn.execute("select count(*) = count(distinct path) from sentinel.landed_files").fetchone() == (True,)
        assert conn.execute("select count(*) from sentinel.hour_leases").fetchone() == (0,)


def test_postgresql_restarted_mid_run_then_everything_is_done_once(settings, tmp_path, clean, monkeypatch):
    # A server of the test's own, to restart (its socket lives in the home: keep the path short).
    server = Settings(home=Path(tempfile.mkdtemp(prefix="snt-pg-")))
    url = database.start_embedded(server)
    try:
        restarted = scenario_settings(settings, url, tmp_path / "restarted")
        migrate(restarted)  # so that the moment to restart can be watched for from the start
        land(restarted)
        proc = subprocess.Popen([sys.executable, "-m", "sentinel_pipeline.cli", "process", "--quiet"],
                                env=env_for(restarted), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(url, MOMENTS["after raw_cdrs"])
            database.stop_embedded(server)
            database.start_embedded(server)
            output = proc.communicate(timeout=600)[0]
        finally:
            proc.kill()
        # The run either finished (its steps retried the lost connection) or failed with a clear message;
        # either way the next `sentinel process` leaves exactly what one clean run leaves.
        assert proc.returncode == 0 or "failed" in output.lower(), output
        for key, value in env_for(restarted).items():
            monkeypatch.setenv(key, value)
        summary = process_landing(restarted)
        assert not summary.failed
        assert outcome(url) == clean
        assert process_landing(restarted).runs == []
    finally:
        database.stop_embedded(server)
        shutil.rmtree(server.home, ignore_errors=True)


def test_a_file_delivered_again_under_another_name_is_counted_once(settings, make_database, tmp_path, clean,
                                                                   monkeypatch):
    again = scenario_settings(settings, make_database(), tmp_path / "again")
    land(again)
    for key, value in env_for(again).items():
        monkeypatch.setenv(key, value)
    assert not process_landing(again).failed
    # Mediation re-sends a file under a new name, and sends it once more with its first record moved an
    # hour back (a corrected clock, so that record falls in another hour): every record was delivered before.
    original = sorted(again.landing.root.glob("*.csv"))[30]
    shutil.copy(original, again.landing.root / f"resent_{original.name}")
    lines = original.read_text().splitlines(keepends=True)
    record_id, seizure, rest = lines[1].split(",", 2)
    moved = (datetime.fromisoformat(seizure) - timedelta(hours=1)).isoformat()
    (again.landing.root / f"corrected_{original.name}").write_text(lines[0] + f"{record_id},{moved},{rest}" + "".join(lines[2:]))
    summary = process_landing(again)
    assert summary.runs and not summary.failed
    result = outcome(again.database_url)
    assert result["detections"] == clean["detections"] and result["alerts"] == clean["alerts"]
    # Every record of the two new files is a duplicate of its first delivery, in whatever hour it fell.
    data_rows = len(lines) - 1
    accepted = {hour: rows for hour, rows, _, _ in result["raw"]}
    assert accepted == {hour: rows for hour, rows, _, _ in clean["raw"]}
    assert sum(d for *_, d in result["raw"]) == 2 * data_rows


def test_a_full_lake_disk_fails_clearly_marks_nothing_done_and_the_next_run_repairs(
        settings, make_database, tmp_path, clean, monkeypatch):
    full = scenario_settings(settings, make_database(), tmp_path / "full")
    full.lake.root.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(full.lake.root)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        land(full)
        for key, value in env_for(full).items():
            monkeypatch.setenv(key, value)
        summary = process_landing(full)
        assert summary.failed
        with psycopg.connect(full.database_url) as conn:
            assert conn.execute("select count(*) from sentinel.pipeline_hours").fetchone() == (0,)
            assert conn.execute("select count(*) from sentinel.detections").fetchone() == (0,)
        assert not [p for p in full.lake.root.rglob("*") if p.is_file() and not p.name.endswith(".parquet")]
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            run = instance.get_run_by_id(summary.failed[0])
            failure = [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_step_failure]
        assert "no space left on the lake's disk" in str(failure[0].dagster_event.step_failure_data.error)
        # The operator grows the volume; the next run writes everything.
        subprocess.run(["mount", "-o", "remount,size=256m", str(full.lake.root)], check=True)
        summary = process_landing(full)
        assert summary.runs and not summary.failed
        assert outcome(full.database_url) == clean
    finally:
        subprocess.run(["umount", "-l", str(full.lake.root)], capture_output=True)


def test_a_step_that_loses_the_database_is_retried_with_back_off_then_fails(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://sentinel@127.0.0.1:9/sentinel")  # nothing listens
    monkeypatch.setenv("SENTINEL_STEP_RETRIES", "1")

    @dg.asset
    def needs_the_database(sentinel: SentinelResource) -> None:
        with sentinel.postgres() as conn:
            conn.execute("select 1")

    result = dg.materialize([needs_the_database], resources={"sentinel": SentinelResource.from_settings(settings)},
                            raise_on_error=False)
    assert not result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1 and retries[0].event_specific_data.seconds_to_wait == 5

"""Fault injection: whatever fails, every CDR, detection and alert ends up exactly as one clean run leaves
them. Each case runs the real pipeline (`sentinel process` as a subprocess, real PostgreSQL, real files)
and compares the detections and alerts with a clean run of the same scenario."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from sentinel_pipeline.cli.process import process_landing
from sentinel_pipeline.generator import generate
from sentinel_pipeline.settings import PROJECT_ROOT

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
    return dataclasses.replace(settings, database_url=url, home=home, landing_dir=home / "landing",
                               lake_dir=home / "lake")


def land(settings) -> None:
    generate(settings.landing_dir, start=START, hours=24, subscribers=1500, seed=5, labels_path=settings.home / "labels.csv")


def env_for(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "DAGSTER_"))}
    env.update(SENTINEL_HOME=str(settings.home), SENTINEL_LANDING_DIR=str(settings.landing_dir),
               SENTINEL_LAKE_DIR=str(settings.lake_dir), DATABASE_URL=settings.database_url,
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
    assert not [p for p in faulty.lake_dir.rglob("*") if p.is_file() and not p.name.endswith(".parquet")
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

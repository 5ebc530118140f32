"""`sentinel health` and the checks behind it, on a real PostgreSQL (and a real embedded one that stops)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from sentinel_pipeline import cli, health
from sentinel_pipeline.settings import PROJECT_ROOT


@pytest.fixture
def dagster_env(monkeypatch):
    """The Dagster check exports DAGSTER_HOME etc. (database.prepare_environment): undo that after the test."""
    for name in ("SENTINEL_DAGSTER_PG_URL", "SENTINEL_DAGSTER_ARTIFACTS"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT))


def by_name(results) -> dict[str, health.Check]:
    return {r.name: r for r in results}


def test_sentinel_health_passes_when_everything_is_there(settings, dagster_env, capsys):
    settings.landing.root.mkdir(parents=True)
    assert cli.main(["health"]) == 0
    out = capsys.readouterr().out
    for name in ("database", "migrations", "lake", "landing", "dagster"):
        assert f"ok    {name}" in out
    assert out.rstrip().endswith("healthy")

    assert cli.main(["health", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ok" and [c["name"] for c in report["checks"]] == list(health.CHECKS)


def test_each_check_fails_for_its_own_reason(settings, tmp_path, capsys):
    # landing missing, lake a file, a migration on disk not applied
    (tmp_path / "lake-is-a-file").write_text("x")
    migrations = tmp_path / "migrations"
    shutil.copytree(settings.migrations_dir, migrations)
    (migrations / "999_later.sql").write_text("select 1;\n")
    broken = replace(settings, lake_url=str(tmp_path / "lake-is-a-file"), migrations_dir=migrations)

    results = by_name(health.run_checks(broken, ["database", "migrations", "lake", "landing"]))
    assert results["database"].ok
    assert not results["migrations"].ok and "999_later.sql pending" in results["migrations"].detail
    assert not results["lake"].ok
    assert not results["landing"].ok and "does not exist" in results["landing"].detail
    assert not health.healthy(results.values())

    assert cli.main(["health", "--check", "landing"]) == 1
    assert "FAIL  landing" in capsys.readouterr().out


def test_an_unreachable_database_fails_fast_and_skips_what_needs_it(settings):
    down = replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    results = by_name(health.run_checks(down))
    assert not results["database"].ok
    assert results["migrations"].detail == results["dagster"].detail == "skipped: the database is unreachable"
    assert results["lake"].ok


@pytest.mark.slow
def test_sentinel_health_fails_when_the_embedded_postgresql_is_stopped():
    home = Path(tempfile.mkdtemp(prefix="s5h-"))  # short: the server's socket lives under it
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTINEL_") and k not in ("DATABASE_URL", "DAGSTER_HOME")}
    env["SENTINEL_HOME"] = str(home)
    sentinel = [sys.executable, "-m", "sentinel_pipeline.cli"]

    def run(*args):
        return subprocess.run(sentinel + list(args), env=env, capture_output=True, text=True, timeout=180)

    try:
        assert run("db", "start").returncode == 0
        (home / "landing").mkdir()
        up = run("health")
        assert up.returncode == 0, up.stdout + up.stderr
        assert run("db", "stop").returncode == 0

        down = run("health")
        assert down.returncode == 1, down.stdout + down.stderr
        assert "FAIL  database" in down.stdout and "not running" in down.stdout
        assert "UNHEALTHY" in down.stdout
    finally:
        run("db", "stop")
        shutil.rmtree(home, ignore_errors=True)


# ----------------------------------------------------------------------------- logs


def test_logs_are_json_in_production_and_honour_log_level():
    import io
    import logging

    from sentinel_pipeline.logs import configure_logging
    from sentinel_pipeline.settings import Settings

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        out = io.StringIO()
        handler = configure_logging(Settings.from_env({"ENVIRONMENT": "production", "LOG_LEVEL": "warning"}), out)
        logging.getLogger("sentinel_pipeline.x").info("hidden")
        logging.getLogger("sentinel_pipeline.x").warning("disk %s", "full", extra={"hour": "2024-03-01T00:00"})
        (line,) = out.getvalue().splitlines()
        entry = json.loads(line)
        assert (entry["level"], entry["logger"], entry["message"], entry["hour"]) == (
            "WARNING", "sentinel_pipeline.x", "disk full", "2024-03-01T00:00",
        )
        assert entry["time"].endswith("+00:00")

        out2 = io.StringIO()
        configure_logging(Settings.from_env({"LOG_LEVEL": "DEBUG"}), out2)
        assert handler not in root.handlers  # replaced, not stacked
        logging.getLogger("sentinel_pipeline.x").debug("plain")
        assert out2.getvalue().rstrip().endswith("DEBUG sentinel_pipeline.x: plain")
        with pytest.raises(ValueError, match="LOG_LEVEL"):
            configure_logging(Settings.from_env({"LOG_LEVEL": "LOUD"}))
    finally:
        for h in list(root.handlers):
            if getattr(h, "_sentinel", False):
                root.removeHandler(h)
        root.setLevel(saved[0])

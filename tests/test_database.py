"""The database layer against a real PostgreSQL: URLs, the embedded server, migrations, the Dagster instance."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from sentinel_pipeline import database
from sentinel_pipeline.cli import db as cli_db
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.migrations import MigrationError, discover, migrate, pending, status
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

MIGRATIONS = PROJECT_ROOT / "migrations"
PROJECT_MIGRATIONS = [m.name for m in discover(MIGRATIONS)]


def core_only(tmp_path: Path) -> Path:
    """A migrations directory holding only 001 (fixed), for tests that add their own files."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    shutil.copy(MIGRATIONS / "001_core_schema.sql", migrations)
    return migrations


# ----------------------------------------------------------------------------- URLs


def test_database_url_prefers_database_url_and_starts_nothing(tmp_path):
    embedded = Settings.from_env({"SENTINEL_HOME": str(tmp_path / "h")})
    assert database.database_url(embedded) == f"postgresql://postgres:@/postgres?host={tmp_path}/h/postgres"
    assert not database.embedded_running(embedded)
    assert not (tmp_path / "h").exists()  # computing the URL created nothing

    external = Settings.from_env({"SENTINEL_HOME": str(tmp_path / "h"), "DATABASE_URL": "postgresql://u@db:5433/x"})
    assert database.database_url(external) == "postgresql://u@db:5433/x"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://postgres:@/postgres?host=/tmp/s/postgres", "postgresql+psycopg2://postgres:@/postgres?host=/tmp/s/postgres"),
        ("postgres://u:p%40ss@db.example:5433/sentinel?sslmode=require", "postgresql+psycopg2://u:p%40ss@db.example:5433/sentinel?sslmode=require"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("host=/run/pg dbname=sentinel user=me", "postgresql+psycopg2://me@/sentinel?host=/run/pg"),
        ("host=db port=5433 dbname=s user=u password=secret", "postgresql+psycopg2://u:secret@db:5433/s"),
    ],
)
def test_dagster_storage_url(url, expected):
    assert database.dagster_storage_url(Settings(database_url=url)) == expected


def test_dagster_storage_url_rejects_other_schemes():
    with pytest.raises(SentinelError, match="postgresql://"):
        database.dagster_storage_url(Settings(database_url="mysql://u@h/d"))


def test_url_with_database():
    assert database.url_with_database("postgresql://u@h:1/a?sslmode=disable", "b") == "postgresql://u@h:1/b?sslmode=disable"
    assert database.url_with_database("postgresql://postgres:@/postgres?host=/x", "t") == "postgresql://postgres:@/t?host=/x"
    assert "dbname=b" in database.url_with_database("host=h dbname=a", "b")


# ----------------------------------------------------------------------------- embedded server


@pytest.fixture
def short_home():
    """A short SENTINEL_HOME (the server's socket lives in it), removed afterwards; server stopped."""
    home = Path(tempfile.mkdtemp(prefix="snt-"))
    settings = Settings.from_env({"SENTINEL_HOME": str(home)})
    try:
        yield settings
    finally:
        database.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)


def test_embedded_start_stop_url_round_trip(short_home):
    settings = short_home
    url = database.database_url(settings)
    assert not database.embedded_running(settings)
    assert database.stop_embedded(settings) is False

    # Started by another process, it keeps running after that process exits.
    code = (
        "from sentinel_pipeline import database; from sentinel_pipeline.settings import Settings;"
        f"print(database.start_embedded(Settings.from_env({{'SENTINEL_HOME': {str(settings.home)!r}}})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == url
    assert database.embedded_running(settings)
    with database.connect(settings) as conn:
        assert conn.execute("select current_setting('server_version_num')::int").fetchone()[0] >= 160000

    assert database.start_embedded(settings) == url  # idempotent
    assert database.stop_embedded(settings) is True
    assert not database.embedded_running(settings)
    with pytest.raises(SentinelError, match="sentinel db start"):
        database.connect(settings)

    # Start again in this process: same data directory, same URL.
    assert database.start_embedded(settings) == url
    with database.connect(settings) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_embedded_refuses_a_socket_path_that_is_too_long(tmp_path):
    settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path / ("x" * 100))})
    with pytest.raises(SentinelError, match="SENTINEL_HOME"):
        database.start_embedded(settings)


def _db_cli(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="sentinel")
    cli_db.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["db", *argv])
    return args.func(args, settings)


def test_cli_db_commands_on_the_embedded_server(short_home, capsys):
    settings = short_home
    assert _db_cli(settings, "url") == 0
    assert capsys.readouterr().out.strip() == database.database_url(settings)
    assert _db_cli(settings, "status") == 1  # not running
    assert _db_cli(settings, "start") == 0
    assert "001_core_schema.sql" in capsys.readouterr().out
    assert _db_cli(settings, "migrate") == 0
    assert "up to date" in capsys.readouterr().out
    assert _db_cli(settings, "status") == 0
    assert _db_cli(settings, "stop") == 0
    assert not database.embedded_running(settings)


def test_cli_db_with_database_url(settings, capsys):
    assert _db_cli(settings, "url") == 0
    assert capsys.readouterr().out.strip() == settings.database_url
    with pytest.raises(SentinelError, match="DATABASE_URL"):
        _db_cli(settings, "start")
    with pytest.raises(SentinelError, match="DATABASE_URL"):
        _db_cli(settings, "stop")
    assert _db_cli(settings, "migrate") == 0
    assert _db_cli(settings, "status") == 0


# ----------------------------------------------------------------------------- migrations


def test_migrate_applies_in_order_and_twice_is_a_no_op(empty_database_url, tmp_path):
    migrations = core_only(tmp_path)
    (migrations / "010_later.sql").write_text("create table sentinel.later (x int);")
    (migrations / "002_earlier.sql").write_text("create table sentinel.earlier (x int);")
    (migrations / "README.md").write_text("not a migration")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        assert pending(conn, migrations) == ["001_core_schema.sql", "002_earlier.sql", "010_later.sql"]
        # pending only reads: nothing was created
        assert conn.execute("select to_regnamespace('sentinel')").fetchone()[0] is None
        assert migrate(conn, migrations) == ["001_core_schema.sql", "002_earlier.sql", "010_later.sql"]
        assert migrate(conn, migrations) == []
        assert pending(conn, migrations) == []
        rows = conn.execute("select version, name, length(checksum) from sentinel.schema_migrations order by 1").fetchall()
        assert rows == [(1, "001_core_schema.sql", 64), (2, "002_earlier.sql", 64), (10, "010_later.sql", 64)]
        assert conn.execute("select to_regclass('sentinel.alerts') is not null").fetchone()[0]


def test_migrate_with_settings_uses_the_configured_database(settings, conn):
    # The template is migrated already: nothing to do, and the recorded checksum matches the file.
    assert migrate(settings) == []
    assert pending(settings) == []
    assert [(s.name, s.state) for s in status(settings)] == [(name, "applied") for name in PROJECT_MIGRATIONS]


def test_migrate_refuses_a_changed_applied_file(empty_database_url, tmp_path):
    migrations = core_only(tmp_path)
    (migrations / "002_extra.sql").write_text("create table sentinel.extra (x int);")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrate(conn, migrations)
        (migrations / "002_extra.sql").write_text("create table sentinel.extra (x int, y int);")
        (migrations / "003_next.sql").write_text("create table sentinel.next (x int);")
        with pytest.raises(MigrationError, match="002_extra.sql"):
            migrate(conn, migrations)
        # nothing after the refusal was applied
        assert conn.execute("select to_regclass('sentinel.next')").fetchone()[0] is None
        assert {s.name: s.state for s in status(conn, migrations)}["002_extra.sql"] == "changed"


def test_migrate_refuses_a_database_newer_than_the_checkout(empty_database_url, tmp_path):
    migrations = core_only(tmp_path)
    (migrations / "002_extra.sql").write_text("select 1;")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrate(conn, migrations)
        (migrations / "002_extra.sql").unlink()
        with pytest.raises(MigrationError, match="not in the migrations directory"):
            migrate(conn, migrations)


def test_a_failing_migration_is_rolled_back_and_not_recorded(empty_database_url, tmp_path):
    migrations = core_only(tmp_path)
    (migrations / "002_broken.sql").write_text("create table sentinel.half (x int);\nselect no_such_function();")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        with pytest.raises(MigrationError, match="002_broken.sql"):
            migrate(conn, migrations)
        assert conn.execute("select to_regclass('sentinel.half')").fetchone()[0] is None
        assert pending(conn, migrations) == ["002_broken.sql"]  # 001 stays applied
        # the advisory lock was released: another session can migrate
        with psycopg.connect(empty_database_url, autocommit=True) as other:
            assert other.execute("select pg_try_advisory_lock(5342911027431)").fetchone()[0]


def test_concurrent_migrations_apply_each_file_once(empty_database_url):
    results, errors = [], []

    def run():
        try:
            with psycopg.connect(empty_database_url, autocommit=True) as conn:
                results.append(migrate(conn, MIGRATIONS))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [[], [], [], PROJECT_MIGRATIONS]


def test_migrate_refuses_a_connection_inside_a_transaction(conn):
    with conn.transaction():
        with pytest.raises(MigrationError, match="transaction"):
            migrate(conn, MIGRATIONS)


# ----------------------------------------------------------------------------- Dagster instance


def test_dagster_instance_stores_runs_in_postgres(settings, conn):
    env = database.prepare_environment(settings)
    assert env["DAGSTER_HOME"] == str(PROJECT_ROOT)
    assert env["SENTINEL_DAGSTER_PG_URL"].startswith("postgresql+psycopg2://")
    assert Path(env["SENTINEL_DAGSTER_ARTIFACTS"]).is_dir()
    assert (PROJECT_ROOT / "dagster.yaml").is_file() and (PROJECT_ROOT / "workspace.yaml").is_file()

    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    @dg.op
    def hello():
        return 1

    @dg.job
    def trivial():
        hello()

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        result = trivial.execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id
        assert instance.get_run_by_id(run_id).is_success
    # the run is in this test's database
    assert conn.execute("select count(*) from public.runs where run_id = %s", [run_id]).fetchone()[0] == 1


def test_a_dagster_home_without_dagster_yaml_is_an_error(settings, tmp_path, monkeypatch):
    # Dagster would otherwise fall back to throw-away SQLite storage without a word.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with pytest.raises(SentinelError, match="no dagster.yaml in DAGSTER_HOME"):
        database.prepare_environment(settings)

"""Applies ``migrations/NNN_name.sql`` in numeric order and records them in ``sentinel.schema_migrations``.

Rules:
- each file runs in its own transaction together with its ``schema_migrations`` row, so a file is either
  fully applied and recorded or not at all (so no ``CREATE INDEX CONCURRENTLY`` in migration files);
- an applied file must not change: its SHA-256 is recorded and ``migrate`` refuses to run if it differs;
- a PostgreSQL advisory lock serialises concurrent ``migrate`` calls (two processes starting at once);
- running it again applies nothing.

``status`` / ``pending`` only read (the health check uses them) and never create anything.
"""

from __future__ import annotations

import hashlib
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg

from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_\-]+)\.sql$")

# pg_advisory_lock key for "sentinel migrations": an arbitrary fixed bigint (visible in pg_locks as
# classid 1243 / objid 4266678503 while a migration runs).
ADVISORY_LOCK_KEY = 5_342_911_027_431

BOOTSTRAP_SQL = """
create schema if not exists sentinel;
create table if not exists sentinel.schema_migrations (
    version    integer     primary key,
    name       text        not null,
    checksum   text        not null,
    applied_at timestamptz not null default now()
);
"""


class MigrationError(SentinelError):
    """The migrations on disk and the ones recorded in the database disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, e.g. "001_core_schema.sql"
    path: Path
    checksum: str  # sha256 of the file's bytes

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class MigrationState:
    version: int
    name: str
    state: str  # "applied" | "pending" | "changed" (checksum differs) | "unknown" (in the DB, not on disk)


def discover(migrations_dir: Path | str) -> list[Migration]:
    """The migration files in ``migrations_dir``, in version order. Other files are ignored."""
    migrations_dir = Path(migrations_dir)
    if not migrations_dir.is_dir():
        raise MigrationError(f"migrations directory not found: {migrations_dir}")
    found: dict[int, Migration] = {}
    for path in sorted(migrations_dir.iterdir()):
        match = FILE_PATTERN.match(path.name)
        if not match or not path.is_file():
            continue
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"two migrations with version {version}: {found[version].name} and {path.name}")
        found[version] = Migration(version, path.name, path, hashlib.sha256(path.read_bytes()).hexdigest())
    return [found[v] for v in sorted(found)]


@contextmanager
def _connection(conn_or_settings: psycopg.Connection | Settings) -> Iterator[psycopg.Connection]:
    if isinstance(conn_or_settings, Settings):
        from sentinel_pipeline.database import connect

        with connect(conn_or_settings, autocommit=True) as conn:
            yield conn
    else:
        conn = conn_or_settings
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raise MigrationError("migrate needs a connection that is not inside a transaction")
        yield conn


def _default_dir(conn_or_settings, migrations_dir) -> Path:
    if migrations_dir is not None:
        return Path(migrations_dir)
    if isinstance(conn_or_settings, Settings):
        return conn_or_settings.migrations_dir
    return PROJECT_ROOT / "migrations"


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of the recorded migrations; {} if the table does not exist yet."""
    with conn.transaction():
        exists = conn.execute("select to_regclass('sentinel.schema_migrations') is not null").fetchone()[0]
        if not exists:
            return {}
        rows = conn.execute("select version, name, checksum from sentinel.schema_migrations").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def _compare(files: list[Migration], applied: dict[int, tuple[str, str]]) -> list[MigrationState]:
    states = []
    on_disk = {m.version: m for m in files}
    for version in sorted(set(on_disk) | set(applied)):
        if version not in on_disk:
            states.append(MigrationState(version, applied[version][0], "unknown"))
        elif version not in applied:
            states.append(MigrationState(version, on_disk[version].name, "pending"))
        elif applied[version][1] != on_disk[version].checksum:
            states.append(MigrationState(version, on_disk[version].name, "changed"))
        else:
            states.append(MigrationState(version, on_disk[version].name, "applied"))
    return states


def status(conn_or_settings: psycopg.Connection | Settings, migrations_dir: Path | str | None = None) -> list[MigrationState]:
    """Every migration on disk or in the database with its state. Reads only."""
    files = discover(_default_dir(conn_or_settings, migrations_dir))
    with _connection(conn_or_settings) as conn:
        return _compare(files, _applied(conn))


def pending(conn_or_settings: psycopg.Connection | Settings, migrations_dir: Path | str | None = None) -> list[str]:
    """File names of the migrations not yet applied, in order. Reads only."""
    return [s.name for s in status(conn_or_settings, migrations_dir) if s.state == "pending"]


def _refuse_mismatches(states: list[MigrationState]) -> None:
    changed = [s.name for s in states if s.state == "changed"]
    if changed:
        raise MigrationError(
            f"applied migration(s) changed on disk since they were applied: {', '.join(changed)}. "
            "An applied migration must never be edited; put the change in a new NNN_*.sql file "
            "(or restore the original file)."
        )
    unknown = [f"{s.version} ({s.name})" for s in states if s.state == "unknown"]
    if unknown:
        raise MigrationError(
            f"the database has migration(s) {', '.join(unknown)} that are not in the migrations directory: "
            "is this checkout older than the database?"
        )


def migrate(conn_or_settings: psycopg.Connection | Settings, migrations_dir: Path | str | None = None) -> list[str]:
    """Apply the pending migrations in order; return the file names applied (empty if up to date).

    ``conn_or_settings`` is a psycopg connection outside a transaction, or Settings (then a connection to
    the configured database is opened and closed). ``migrations_dir`` defaults to the project's.
    """
    files = discover(_default_dir(conn_or_settings, migrations_dir))
    applied_now: list[str] = []
    with _connection(conn_or_settings) as conn:
        with conn.transaction():
            # Session-level lock: held across the per-file transactions below, released at the end.
            conn.execute("select pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            with conn.transaction():
                conn.execute(BOOTSTRAP_SQL)
            states = _compare(files, _applied(conn))
            _refuse_mismatches(states)
            todo = {s.version for s in states if s.state == "pending"}
            for migration in files:
                if migration.version not in todo:
                    continue
                log.info("applying migration %s", migration.name)
                try:
                    with conn.transaction():
                        conn.execute(migration.sql)
                        conn.execute(
                            "insert into sentinel.schema_migrations (version, name, checksum) values (%s, %s, %s)",
                            [migration.version, migration.name, migration.checksum],
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {migration.name} failed and was rolled back: {exc}") from exc
                applied_now.append(migration.name)
        finally:
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                with conn.transaction():
                    conn.execute("select pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    return applied_now

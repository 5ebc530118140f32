"""Shared fixtures: a real PostgreSQL for every test that needs one (no mocks).

Where the server comes from (once per test session, i.e. once per xdist worker):
- ``DATABASE_URL`` set when pytest starts: that server (its user needs CREATEDB); e.g. the PostgreSQL 15
  that ``.ci/run`` starts;
- otherwise an embedded PostgreSQL 16 (pgserver) in a fresh temporary directory, stopped and deleted at
  the end of the session.

Each test that asks for ``database_url`` gets its own fresh database, copied from a template database
that has all migrations applied (``CREATE DATABASE ... TEMPLATE``, a few tens of ms), and dropped after
the test. The template's name carries a hash of the migration files, so editing or adding a migration
builds a new template; it is built under a temporary name and renamed when complete, under an advisory
lock, so parallel sessions against one server never see a half-built template.

Fixtures:
- ``pg_admin_url`` (session): URL of the server's maintenance database; create/drop databases with it.
- ``template_database`` (session): name of the migrated template database.
- ``database_url``: URL of a fresh, migrated database for this test.
- ``empty_database_url``: URL of a fresh database with nothing in it (for migration tests).
- ``make_database``: a factory of further fresh, migrated databases (a clean run to compare with).
- ``settings``: ``Settings.from_env()`` with SENTINEL_HOME, landing and lake dirs under ``tmp_path`` and
  ``DATABASE_URL`` = ``database_url``. The variables are set with monkeypatch, so code that calls
  ``Settings.from_env()`` itself sees the same values; other ``SENTINEL_*`` variables and DAGSTER_HOME
  are cleared for the test and restored after it.
- ``conn``: an autocommit psycopg 3 connection to ``database_url`` (``conn.transaction()`` for a block).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from sentinel_pipeline import database
from sentinel_pipeline.migrations import discover, migrate
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

# Read once, at import: tests later set DATABASE_URL per test (the ``settings`` fixture).
EXTERNAL_DATABASE_URL = os.environ.get("DATABASE_URL") or None
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
TEMPLATE_LOCK_KEY = 5_342_911_027_432  # advisory lock serialising template builds on a shared server


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _create_database(admin: psycopg.Connection, name: str, template: str | None = None) -> None:
    statement = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" template {}").format(sql.Identifier(template))
    admin.execute(statement)


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The PostgreSQL server for this session: DATABASE_URL's, or an embedded one in a temp dir."""
    if EXTERNAL_DATABASE_URL:
        yield EXTERNAL_DATABASE_URL
        return
    # A short path: the server's Unix socket lives in it (limit ~107 bytes).
    home = Path(tempfile.mkdtemp(prefix="sentinel-pg-"))
    settings = Settings(home=home)
    try:
        yield database.start_embedded(settings)
    finally:
        database.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> str:
    """A database with every migration applied, marked as a template; built once per migration set."""
    digest = hashlib.sha256("".join(m.name + m.checksum for m in discover(MIGRATIONS_DIR)).encode()).hexdigest()
    name = f"sentinel_template_{digest[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute("select pg_advisory_lock(%s)", [TEMPLATE_LOCK_KEY])
        try:
            exists = admin.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
            if not exists:
                building = _unique_name("sentinel_template_build")
                _create_database(admin, building)
                try:
                    with psycopg.connect(database.url_with_database(pg_admin_url, building), autocommit=True) as c:
                        migrate(c, MIGRATIONS_DIR)
                    admin.execute(
                        sql.SQL("alter database {} rename to {}").format(sql.Identifier(building), sql.Identifier(name))
                    )
                except BaseException:
                    _drop_database(admin, building)
                    raise
                admin.execute(sql.SQL("alter database {} is_template true").format(sql.Identifier(name)))
        finally:
            admin.execute("select pg_advisory_unlock(%s)", [TEMPLATE_LOCK_KEY])
    return name


@pytest.fixture
def database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A fresh database with all migrations applied, dropped after the test."""
    name = _unique_name("sentinel_test")
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        _create_database(admin, name, template=template_database)
    try:
        yield database.url_with_database(pg_admin_url, name)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            _drop_database(admin, name)


@pytest.fixture
def make_database(pg_admin_url: str, template_database: str) -> Iterator:
    """A factory of further fresh, migrated databases for one test (all dropped after it)."""
    names = []

    def make() -> str:
        name = _unique_name("sentinel_test")
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            _create_database(admin, name, template=template_database)
        names.append(name)
        return database.url_with_database(pg_admin_url, name)

    yield make
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        for name in names:
            _drop_database(admin, name)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database (no migrations), dropped after the test."""
    name = _unique_name("sentinel_empty")
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        _create_database(admin, name)
    try:
        yield database.url_with_database(pg_admin_url, name)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            _drop_database(admin, name)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    """Settings for a test: files under tmp_path, DATABASE_URL = this test's database."""
    for name in list(os.environ):
        if name.startswith("SENTINEL_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("SENTINEL_HOME", str(home))
    monkeypatch.setenv("SENTINEL_LANDING_URL", str(home / "landing"))
    monkeypatch.setenv("SENTINEL_LAKE_URL", str(home / "lake"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return Settings.from_env()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to this test's database."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection

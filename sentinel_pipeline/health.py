"""Health checks: is everything Sentinel needs there and usable?

- ``database``: PostgreSQL answers ``select 1`` (within a few seconds);
- ``migrations``: every file in migrations/ is applied and none changed (``migrations.status``);
- ``lake``: an object can be written and removed in SENTINEL_LAKE_URL (a directory is created if needed);
- ``landing``: SENTINEL_LANDING_URL exists (a directory, or a bucket) and can be listed;
- ``dagster``: the Dagster instance (dagster.yaml, runs in PostgreSQL) loads and answers a run count.

Used by ``sentinel health`` (exit status 1 when a check fails) and the metrics server's ``/health`` and
``/health/detailed`` (HTTP 503 when a check fails). Checks never raise; each reports ``ok`` and a detail.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Callable

from sentinel_pipeline import storage
from sentinel_pipeline.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5
LANDING_LISTING = 1000  # files the landing check lists at most (one request on a bucket)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def check_database(settings: Settings) -> str:
    from sentinel_pipeline import database

    with database.connect(settings, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
        version = conn.execute("show server_version").fetchone()[0]
    return f"PostgreSQL {version} at {_where(settings)}"


def check_migrations(settings: Settings) -> str:
    from sentinel_pipeline import database, migrations

    with database.connect(settings, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
        states = migrations.status(conn, settings.migrations_dir)
    bad = [f"{s.name} {s.state}" for s in states if s.state != "applied"]
    if bad:
        raise RuntimeError("not current: " + ", ".join(bad) + " (run `sentinel db migrate`)")
    return f"{len(states)} applied, latest {states[-1].name}" if states else "no migrations"


def check_lake(settings: Settings) -> str:
    lake = settings.lake
    probe = f".health-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    lake.write_bytes(probe, b"ok")
    lake.delete(probe)
    return f"{lake.url()} writable"


def check_landing(settings: Settings) -> str:
    landing = settings.landing
    if isinstance(landing, storage.LocalLocation) and not landing.root.is_dir():
        raise RuntimeError(f"{landing.url()} does not exist or is not a directory")
    count = len(landing.list(limit=LANDING_LISTING))
    more = "+" if count == LANDING_LISTING else ""
    return f"{landing.url()} readable ({count}{more} files)"


def check_dagster(settings: Settings) -> str:
    from sentinel_pipeline import database

    database.prepare_environment(settings)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs_count()
        storage = type(instance.run_storage).__name__
    return f"instance at DAGSTER_HOME={os.environ['DAGSTER_HOME']} ({storage}, {runs} runs)"


CHECKS: dict[str, Callable[[Settings], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "lake": check_lake,
    "landing": check_landing,
    "dagster": check_dagster,
}


def _where(settings: Settings) -> str:
    from sentinel_pipeline import database

    return "embedded server" if database.uses_embedded(settings) else "DATABASE_URL"


def run_checks(settings: Settings, names: list[str] | None = None) -> list[Check]:
    """Run the named checks (default: all), in order. A check that depends on the database is reported
    as failed, not run, when the database check failed."""
    results = []
    database_down = False
    for name in names or list(CHECKS):
        started = time.perf_counter()
        if database_down and name in ("migrations", "dagster"):
            results.append(Check(name, False, "skipped: the database is unreachable", 0.0))
            continue
        try:
            detail = CHECKS[name](settings)
            ok = True
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not crash
            detail = f"{type(exc).__name__}: {exc}".strip().splitlines()[0] if str(exc) else type(exc).__name__
            ok = False
        results.append(Check(name, ok, detail, time.perf_counter() - started))
        if name == "database" and not ok:
            database_down = True
    return results


def healthy(results: list[Check]) -> bool:
    return all(r.ok for r in results)


def report(results: list[Check]) -> dict:
    """The JSON body of /health/detailed and `sentinel health --json`."""
    return {"status": "ok" if healthy(results) else "failing", "checks": [r.as_dict() for r in results]}

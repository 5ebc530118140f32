"""Every Sentinel setting, read from the environment, with a default that works.

This module is the one home of configuration: nothing else reads ``os.environ``
for Sentinel settings. The README's settings table documents each variable.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo

from sentinel_pipeline import storage


def _project_root() -> Path:
    """The checkout holding dagster.yaml, migrations/ and reference/ (an editable install, the image), or
    where a wheel installed them (``<prefix>/share/sentinel``, pyproject.toml's data-files)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "migrations").is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "sentinel"


PROJECT_ROOT = _project_root()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# How a run executes its steps (SENTINEL_EXECUTOR): in its own process one after the other, in a
# subprocess per step (independent steps side by side), or in a Kubernetes Job per step.
EXECUTORS = ("in_process", "multiprocess", "k8s")


def storage_url(env: Mapping[str, str], name: str, local_name: str, default: Path) -> str:
    """Where the lake or the landing zone lives: ``name`` (``SENTINEL_LAKE_URL``: a local path or
    ``s3://bucket/prefix``), or ``local_name`` (``SENTINEL_LAKE_DIR``, the local-only spelling kept from
    before buckets), or ``default``. A local path comes back absolute; a URL is checked by
    ``storage.location``."""
    url, local = env.get(name, "").strip(), env.get(local_name, "").strip()
    if url and local and storage.location(url).url() != storage.location(local).url():
        raise ValueError(f"{name}={url!r} and {local_name}={local!r} disagree: set only {name}")
    raw = url or local or str(default)
    try:
        return storage.location(raw).url()
    except storage.StorageError as exc:
        raise ValueError(f"{name if url else local_name}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    # Storage and services
    database_url: str | None = None
    database_pool_min_size: int = 1
    database_pool_max_size: int = 5
    home: Path = Path(".sentinel")
    # A local directory (absolute path) or s3://bucket/prefix: see ``storage_url`` and ``lake``/``landing``.
    landing_url: str = ".sentinel/landing"
    lake_url: str = ".sentinel/lake"
    reference_dir: Path = PROJECT_ROOT / "reference"
    migrations_dir: Path = PROJECT_ROOT / "migrations"
    # Logging
    log_level: str = "INFO"
    environment: str = "development"
    # Time
    source_timezone: str = "UTC"
    partition_timezone: str = "UTC"
    partitions_start: str = "2024-01-01-00:00"
    # Numbering plan
    country_code: str = "234"
    national_prefix: str = "0"
    international_prefixes: tuple[str, ...] = ("009", "00")
    # Engine limits
    duckdb_memory_limit: str | None = None  # None: DuckDB's own default, 80 % of the machine's memory
    duckdb_threads: int = 0
    # Dagster's own variable: events written in batches of this many (0: one by one). database.prepare_environment
    # exports it for the Dagster instance.
    dagster_event_batch_size: int = 1000
    feature_windows_hours: tuple[int, ...] = (1, 24)
    # Landing sensor
    sensor_interval_seconds: int = 15
    landing_settle_seconds: int = 5
    sensor_max_files_per_tick: int = 200
    sensor_max_bytes_per_tick: int = 2_000_000_000
    sensor_tick_seconds: int = 30  # a tick stops registering files after this (Dagster's timeout: 60 s)
    work_max_attempts: int = 5
    step_retries: int = 3  # a step that lost its database connection runs again this many times
    automation_lookback_hours: int = 48
    # Scaling out: back-fills split into runs of at most this many hours, this many runs at once (the
    # daemon's run queue, and `sentinel process`), each run's steps executed by this executor.
    run_max_hours: int = 48
    max_concurrent_runs: int = 2
    executor: str = "in_process"
    # Data quality: extra CSV/Parquet layouts (docs/data-quality.md)
    column_map: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("SENTINEL_HOME") or ".sentinel").expanduser().resolve()
        windows = tuple(sorted({int(w) for w in _list(env, "SENTINEL_FEATURE_WINDOWS_HOURS", ("1", "24"))}))
        if not windows or min(windows) < 1:
            raise ValueError("SENTINEL_FEATURE_WINDOWS_HOURS must list whole hours >= 1, e.g. 1,24")
        settings = cls(
            database_url=env.get("DATABASE_URL") or None,
            database_pool_min_size=_int(env, "DATABASE_POOL_MIN_SIZE", 1),
            database_pool_max_size=_int(env, "DATABASE_POOL_MAX_SIZE", 5),
            home=home,
            landing_url=storage_url(env, "SENTINEL_LANDING_URL", "SENTINEL_LANDING_DIR", home / "landing"),
            lake_url=storage_url(env, "SENTINEL_LAKE_URL", "SENTINEL_LAKE_DIR", home / "lake"),
            reference_dir=Path(env.get("SENTINEL_REFERENCE_DIR") or PROJECT_ROOT / "reference").expanduser().resolve(),
            migrations_dir=PROJECT_ROOT / "migrations",
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            environment=env.get("ENVIRONMENT") or "development",
            source_timezone=env.get("SENTINEL_SOURCE_TIMEZONE") or "UTC",
            partition_timezone=env.get("SENTINEL_PARTITION_TIMEZONE") or "UTC",
            partitions_start=env.get("SENTINEL_PARTITIONS_START") or "2024-01-01-00:00",
            country_code=(env.get("SENTINEL_COUNTRY_CODE") or "234").lstrip("+"),
            national_prefix=env.get("SENTINEL_NATIONAL_PREFIX", "0"),
            # Longest first, so that "009" is stripped before "00" can match it.
            international_prefixes=tuple(
                sorted(_list(env, "SENTINEL_INTERNATIONAL_PREFIXES", ("009", "00")), key=len, reverse=True)
            ),
            duckdb_memory_limit=env.get("SENTINEL_DUCKDB_MEMORY_LIMIT") or None,
            duckdb_threads=_int(env, "SENTINEL_DUCKDB_THREADS", 0),
            dagster_event_batch_size=_int(env, "DAGSTER_EVENT_BATCH_SIZE", 1000),
            feature_windows_hours=windows,
            sensor_interval_seconds=_int(env, "SENTINEL_SENSOR_INTERVAL_SECONDS", 15),
            landing_settle_seconds=_int(env, "SENTINEL_LANDING_SETTLE_SECONDS", 5),
            sensor_max_files_per_tick=_int(env, "SENTINEL_SENSOR_MAX_FILES_PER_TICK", 200),
            sensor_max_bytes_per_tick=_int(env, "SENTINEL_SENSOR_MAX_BYTES_PER_TICK", 2_000_000_000),
            sensor_tick_seconds=_int(env, "SENTINEL_SENSOR_TICK_SECONDS", 30),
            work_max_attempts=_int(env, "SENTINEL_WORK_MAX_ATTEMPTS", 5),
            step_retries=_int(env, "SENTINEL_STEP_RETRIES", 3),
            automation_lookback_hours=_int(env, "SENTINEL_AUTOMATION_LOOKBACK_HOURS", 48),
            run_max_hours=_int(env, "SENTINEL_RUN_MAX_HOURS", 48),
            max_concurrent_runs=_int(env, "SENTINEL_MAX_CONCURRENT_RUNS", 2),
            executor=(env.get("SENTINEL_EXECUTOR") or "in_process").strip().lower(),
            column_map=Path(env["SENTINEL_COLUMN_MAP"]).expanduser().resolve() if env.get("SENTINEL_COLUMN_MAP") else None,
        )
        if not settings.country_code.isdigit():
            raise ValueError(f"SENTINEL_COUNTRY_CODE must be digits, got {settings.country_code!r}")
        for prefix in settings.international_prefixes:
            if not prefix.isdigit():
                raise ValueError(f"SENTINEL_INTERNATIONAL_PREFIXES must list digit prefixes, got {prefix!r}")
        if settings.executor not in EXECUTORS:
            raise ValueError(f"SENTINEL_EXECUTOR must be one of {', '.join(EXECUTORS)}, got {settings.executor!r}")
        if settings.run_max_hours < 0 or settings.max_concurrent_runs < 1:
            raise ValueError("SENTINEL_RUN_MAX_HOURS must be >= 0 (0: no limit) and SENTINEL_MAX_CONCURRENT_RUNS >= 1")
        if settings.national_prefix and not settings.national_prefix.isdigit():
            raise ValueError(f"SENTINEL_NATIONAL_PREFIX must be digits (or empty), got {settings.national_prefix!r}")
        return settings

    @property
    def lake(self) -> storage.Location:
        """The Parquet lake (``SENTINEL_LAKE_URL``)."""
        return storage.location(self.lake_url)

    @property
    def landing(self) -> storage.Location:
        """Where CDR files are delivered (``SENTINEL_LANDING_URL``)."""
        return storage.location(self.landing_url)

    @property
    def embedded_database_dir(self) -> Path:
        return self.home / "postgres"

    @property
    def dagster_artifacts_dir(self) -> Path:
        return self.home / "dagster"

    @property
    def partition_hour_offset_seconds(self) -> int:
        """Seconds past each UTC hour at which an hour of the partition time zone starts."""
        offset = datetime(2024, 1, 1, tzinfo=ZoneInfo(self.partition_timezone)).utcoffset()
        return int(offset.total_seconds()) % 3600

    @property
    def partitions_start_at(self) -> datetime:
        naive = datetime.strptime(self.partitions_start, "%Y-%m-%d-%H:%M")
        return naive.replace(tzinfo=ZoneInfo(self.partition_timezone))

    @property
    def longest_window_hours(self) -> int:
        return max(self.feature_windows_hours)

"""Dagster resources, and the settings the definitions are built with.

Sentinel's settings have one home, the environment (``Settings.from_env``). ``SETTINGS`` is read once,
when the code location loads: it decides the partitions, the feature windows, the sensor interval and the
automation look-back. ``SentinelResource`` shows where the data lives on the UI's resource page and hands
assets and sensors the settings and the connections built from them.
"""

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr

from sentinel_pipeline import database
from sentinel_pipeline.settings import Settings

SETTINGS = Settings.from_env()
# The first wait before a step that lost its database connection runs again; doubled on each retry.
STEP_RETRY_SECONDS = 5


class SentinelResource(dg.ConfigurableResource):
    """Where Sentinel's data lives; every other setting comes from the environment with it."""

    home: str = Field(description="SENTINEL_HOME: the embedded database, DuckDB spill files, Dagster artefacts")
    landing_url: str = Field(description="SENTINEL_LANDING_URL: where CDR files are delivered (a directory or s3://bucket/prefix)")
    lake_url: str = Field(description="SENTINEL_LAKE_URL: the Parquet lake, raw_cdrs and caller_features (a directory or s3://bucket/prefix)")
    reference_dir: str = Field(description="SENTINEL_REFERENCE_DIR: trunks, number ranges, high-risk ranges, whitelist")
    database: str = Field(description="the PostgreSQL database (DATABASE_URL without its password, or the embedded one)")

    _settings: Settings | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SentinelResource":
        return cls(
            home=str(settings.home), landing_url=settings.landing_url, lake_url=settings.lake_url,
            reference_dir=str(settings.reference_dir), database=database.redacted_url(settings),
        )

    def settings(self) -> Settings:
        """The environment's settings with this resource's directories, built once per resource."""
        if self._settings is None:
            self._settings = replace(
                Settings.from_env(), home=Path(self.home), landing_url=self.landing_url,
                lake_url=self.lake_url, reference_dir=Path(self.reference_dir),
            )
        return self._settings

    @contextmanager
    def postgres(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection. In a step, a lost or refused connection (the server restarted or
        failed over) fails the step with a retry request: Dagster runs the step again after 5 s, 10 s,
        20 s, ... up to ``SENTINEL_STEP_RETRIES`` times; after that the run fails and the sensor asks for
        its hours again (docs/operations.md, "Failures"). Other errors fail the step at once."""
        settings = self.settings()
        try:
            with database.connect(settings, autocommit=True) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            try:
                attempt = dg.OpExecutionContext.get().retry_number
            except dg.DagsterInvariantViolationError:  # not in a step (a sensor tick): the next tick tries again
                raise
            raise dg.RetryRequested(max_retries=settings.step_retries,
                                    seconds_to_wait=STEP_RETRY_SECONDS * 2 ** attempt) from exc

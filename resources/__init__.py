"""Dagster resources. Sentinel's settings have one home, the environment (``Settings.from_env``);
the resource hands them, and connections built from them, to assets and sensors."""


from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import psycopg

from sentinel_pipeline import database
from sentinel_pipeline.settings import Settings


class SentinelResource(dg.ConfigurableResource):
    """Settings from the environment, PostgreSQL connections and DuckDB sessions built from them."""

    def settings(self) -> Settings:
        return Settings.from_env()

    @contextmanager
    def postgres(self) -> Iterator[psycopg.Connection]:
        with database.connect(self.settings(), autocommit=True) as conn:
            yield conn

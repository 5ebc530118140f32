"""One shape for every detector: ``DetectorSpec``.

A detector module holds its rule in its docstring (its first line is the detector's title), a
``DetectorParams`` class (the fields' defaults are the documented thresholds; the same class is the
asset's run config and what the SQL reads), the SQL builder and one ``SPEC`` naming them. Everything
else is derived from the spec: the Dagster asset, its partition mapping and checks, the alerts'
dependencies, ``sentinel evaluate``, the code version.

The parameters say how many hours before the partition hour the detector reads (``lookback_hours``: a
class attribute, or a property when a parameter decides it); the partition mapping, the lake read and
the SQL's window all use that one number.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import pydantic

from sentinel_pipeline import schema
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings

SOURCES = ("raw_cdrs", "caller_features")


class DetectorParams(pydantic.BaseModel):
    """A detector's parameters: typed, immutable, and nothing but the declared fields."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=True)

    @classmethod
    def fields(cls) -> dict[str, tuple[type, Any]]:
        """Parameter name -> (type, default), in declaration order: the asset's run config."""
        return {name: (f.annotation, f.default) for name, f in cls.model_fields.items()}


@dataclass(frozen=True)
class DetectorSpec:
    name: str  # the `detector` column of sentinel.detections and sentinel.alerts
    params: type[DetectorParams]
    sql: Callable[[Any, Settings], str]  # (params, settings) -> SQL yielding detection rows (see run.py)
    subject_types: tuple[str, ...]
    summary_columns: tuple[str, ...]  # evidence keys shown in the UI's table of top suspects
    source: str = "raw_cdrs"  # the lake asset it reads
    reference_files: tuple[str, ...] = ()  # besides whitelist.csv, which every detector applies
    fraud_types: tuple[str, ...] = ()  # generator labels it is meant to catch (``sentinel evaluate``)
    validate: Callable[[Any, Settings], str | None] | None = None  # why params cannot run, or None
    # (duckdb, psycopg) -> creates the tables its SQL reads from PostgreSQL (the hotlist), if any
    from_postgres: Callable[[Any, Any], None] | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"{self.name}: source must be one of {SOURCES}")
        unknown = set(self.subject_types) - set(schema.SUBJECT_TYPES)
        if unknown:
            raise ValueError(f"{self.name}: subject types {sorted(unknown)} are not in schema.SUBJECT_TYPES")

    @property
    def title(self) -> str:
        """The first line of the detector module's docstring."""
        return inspect.getmodule(self.sql).__doc__.strip().splitlines()[0]

    @property
    def description(self) -> str:
        return inspect.getmodule(self.sql).__doc__

    @property
    def asset_name(self) -> str:
        return f"{self.name}_detections"

    @property
    def default_params(self) -> DetectorParams:
        return self.params()

    def parameters(self, values: dict | None = None) -> DetectorParams:
        """The parameters from run config values (defaults for the rest); a clear error for bad ones."""
        try:
            return self.params(**(values or {}))
        except pydantic.ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise SentinelError(f"{self.name}: bad parameters: {problems}") from None

    def check(self, params: DetectorParams, settings: Settings) -> None:
        """Raise ``SentinelError`` when these parameters cannot run with these settings."""
        reason = self.validate(params, settings) if self.validate else None
        if reason:
            raise SentinelError(f"{self.name}: {reason}")

    def code_version(self) -> str:
        """A digest of what decides the output: the SQL with the default parameters (shared pieces
        included) and the runner that executes it. A changed rule or threshold shows as a new code
        version in the UI, and the detector's partitions as stale."""
        from sentinel_pipeline.detectors import run

        parts = [self.sql(self.default_params, Settings()), inspect.getsource(run), self.source,
                 repr(sorted(self.reference_files))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]

"""What the UI shows about every asset: owners, tags, code versions, column schemas, per-partition row counts."""

from __future__ import annotations

import hashlib
from datetime import datetime

import dagster as dg

from assets.partitions import partition_key_for

# Who answers for an asset: the platform team for the data, the fraud team for what is found in it.
DATA_OWNERS = ["team:data-platform"]
FRAUD_OWNERS = ["team:fraud"]


def code_version(*parts: str) -> str:
    """A short digest of what decides an asset's output (its SQL, its version constants): a change shows
    the asset's partitions as stale in the UI."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def column_schema(columns: dict[str, str]) -> dg.TableSchema:
    """``dagster/column_schema`` from name -> type."""
    return dg.TableSchema(columns=[dg.TableColumn(name, kind.lower()) for name, kind in columns.items()])


def report_row_counts(context: dg.AssetExecutionContext, counts: dict[datetime, int]) -> None:
    """``dagster/row_count`` on each partition of the run (a run may cover many hours)."""
    for hour, rows in counts.items():
        context.add_asset_metadata({"dagster/row_count": int(rows)}, partition_key=partition_key_for(hour))

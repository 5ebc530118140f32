"""caller_features: per calling number, trailing-window features ending at each hour."""


import dagster as dg

from assets.cdrs import raw_cdrs
from assets.metadata import DATA_OWNERS, column_schema, report_row_counts
from assets.partitions import HOURLY, hold_hours, partition_hours
from assets.steps import HEAVY_STEP
from resources import SETTINGS, SentinelResource
from sentinel_pipeline import features


@dg.asset(
    **HOURLY,
    op_tags=HEAVY_STEP,
    deps=[
        dg.AssetDep(
            # Each hour reads the raw hours of its longest window: declared, so lineage shows it and a
            # late file re-evaluates every window it falls into.
            raw_cdrs,
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(SETTINGS.longest_window_hours - 1), end_offset=0),
        )
    ],
    kinds={"duckdb", "parquet"},
    group_name="features",
    code_version=features.code_version(SETTINGS),
    owners=DATA_OWNERS,
    tags={"layer": "derived"},
    metadata={"dagster/column_schema": column_schema(features.columns(SETTINGS))},
)
def caller_features(context: dg.AssetExecutionContext, sentinel: SentinelResource) -> dg.MaterializeResult:
    """For every number that made a call in the hour: calls, answered calls, distinct destinations,
    durations, short-call share, night calls, received calls and distinct cells over each window of
    SENTINEL_FEATURE_WINDOWS_HOURS (default 1 h and 24 h) ending at the hour. Written to
    ``<lake>/caller_features/<date>/<HHMM>.parquet``."""
    settings = sentinel.settings()
    with sentinel.postgres() as conn:
        hold_hours(context, conn)
    summary = features.build_feature_hours(settings, partition_hours(context))
    report_row_counts(context, summary.by_hour)
    return dg.MaterializeResult(
        metadata={
            "hours": summary.hours,
            "rows": summary.rows,
            "callers": summary.callers,
            "windows_hours": ", ".join(str(w) for w in settings.feature_windows_hours),
            "seconds": round(summary.seconds, 2),
        }
    )

"""Detector assets: each writes its findings for the hour to ``sentinel.detections``."""


import dagster as dg

from assets.features import caller_features
from assets.partitions import hourly_partitions, partition_hours
from resources import SentinelResource
from sentinel_pipeline import detectors
from sentinel_pipeline.detectors import sdhf


def top_table(summary: detectors.DetectionSummary, columns: list[str]) -> dg.MetadataValue:
    header = "| subject | severity | score | " + " | ".join(columns) + " |"
    lines = [header, "|" + "---|" * (3 + len(columns))]
    for row in summary.top:
        metrics = row["metrics"]
        values = " | ".join(str(metrics.get(c, "")) for c in columns)
        lines.append(f"| {row['subject']} | {row['severity']} | {row['score']} | {values} |")
    return dg.MetadataValue.md("\n".join(lines) if summary.top else "no detections")


def detection_metadata(summary: detectors.DetectionSummary, columns: list[str]) -> dict:
    return {
        "detections": summary.detections,
        **{f"severity_{s.lower()}": n for s, n in sorted(summary.by_severity.items())},
        "top_suspects": top_table(summary, columns),
    }


class SdhfConfig(dg.Config):
    """The original engine's SDHF parameters; change them in the launchpad to re-run with others."""

    time_window_hours: int = sdhf.SdhfParams.time_window_hours
    min_unique_destinations: int = sdhf.SdhfParams.min_unique_destinations
    max_avg_duration_seconds: float = sdhf.SdhfParams.max_avg_duration_seconds


@dg.asset(
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[caller_features],
    kinds={"duckdb", "postgres"},
    group_name="detections",
    pool="sentinel_pipeline",
)
def sdhf_detections(
    context: dg.AssetExecutionContext, config: SdhfConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """SDHF (Short Duration, High Frequency): numbers reaching at least `min_unique_destinations`
    distinct destinations within `time_window_hours` at an average duration of at most
    `max_avg_duration_seconds`. Replaces the hour's `sdhf` rows in sentinel.detections atomically."""
    settings = sentinel.settings()
    if config.time_window_hours not in settings.feature_windows_hours:
        raise dg.Failure(
            f"time_window_hours={config.time_window_hours} is not a computed feature window; "
            f"computed: {settings.feature_windows_hours} (SENTINEL_FEATURE_WINDOWS_HOURS)"
        )
    params = sdhf.SdhfParams(**config.model_dump())
    with sentinel.postgres() as conn:
        summary = detectors.run_detector(
            settings, conn, sdhf.DETECTOR, lambda rel: sdhf.detect_sql(rel, params), partition_hours(context),
            context.run.run_id,
        )
    return dg.MaterializeResult(
        metadata={
            **detection_metadata(summary, ["distinct_destinations", "avg_duration_s", "calls"]),
            "parameters": dg.MetadataValue.json(config.model_dump()),
        }
    )

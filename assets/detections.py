"""Detector assets: each writes its findings for the hour to ``sentinel.detections``."""


import dagster as dg

from assets.cdrs import raw_cdrs
from assets.features import caller_features
from assets.partitions import hourly_partitions, partition_hours
from assets.reference import ref_high_risk_destinations, ref_number_ranges, ref_trunks, ref_whitelist
from resources import SentinelResource
from sentinel_pipeline import detectors
from sentinel_pipeline.detectors import (
    cli_masking,
    impossible_concurrency,
    invalid_cli,
    irsf,
    sdhf,
    simbox_profile,
    wangiri,
)


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
    deps=[caller_features, ref_whitelist],
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


# ---------------------------------------------------------------------------------------------------
# Detectors over the raw CDRs of a trailing window (see sentinel_pipeline/detectors/<name>.py and
# docs/detectors.md). Each reads raw_cdrs of its window and the reference files it needs.


def _raw_window(hours: int) -> dg.AssetDep:
    return dg.AssetDep(
        raw_cdrs, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-hours, end_offset=0)
    )


def _run_raw(context, sentinel, detector, sql, lookback_hours, config, columns) -> dg.MaterializeResult:
    settings = sentinel.settings()
    with sentinel.postgres() as conn:
        summary = detectors.run_raw_detector(
            settings, conn, detector, lambda: sql, partition_hours(context), context.run_id, lookback_hours
        )
    return dg.MaterializeResult(
        metadata={
            **detection_metadata(summary, columns),
            "parameters": dg.MetadataValue.json(config.model_dump()),
        }
    )


_detector_asset = dict(
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "postgres"},
    group_name="detections",
    pool="sentinel_pipeline",
)


class SimboxProfileConfig(dg.Config):
    """SIM-box behaviour over 24 h; defaults and reasons in docs/detectors.md."""

    min_distinct_destinations: int = simbox_profile.SimboxProfileParams.min_distinct_destinations
    max_incoming_ratio: float = simbox_profile.SimboxProfileParams.max_incoming_ratio
    max_cells: int = simbox_profile.SimboxProfileParams.max_cells
    min_fresh_ratio: float = simbox_profile.SimboxProfileParams.min_fresh_ratio
    min_imsis_per_imei: int = simbox_profile.SimboxProfileParams.min_imsis_per_imei
    min_supporting_signals: int = simbox_profile.SimboxProfileParams.min_supporting_signals
    min_night_share: float = simbox_profile.SimboxProfileParams.min_night_share
    max_avg_duration_s: float = simbox_profile.SimboxProfileParams.max_avg_duration_s
    min_hours_with_data: int = simbox_profile.SimboxProfileParams.min_hours_with_data


@dg.asset(deps=[_raw_window(simbox_profile.WINDOW_HOURS - 1), ref_whitelist], **_detector_asset)
def simbox_profile_detections(
    context: dg.AssetExecutionContext, config: SimboxProfileConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """SIM-box SIMs and handsets: outgoing-only SIMs reaching many fresh destinations from one cell, or
    sharing a handset with other SIMs; catches boxes tuned below the SDHF thresholds."""
    params = simbox_profile.SimboxProfileParams(**config.model_dump())
    sql = simbox_profile.detect_sql(params, sentinel.settings().partition_timezone)
    return _run_raw(context, sentinel, simbox_profile.DETECTOR, sql, simbox_profile.WINDOW_HOURS - 1, config,
                    ["calls", "distinct_destinations", "received_calls", "distinct_cells", "supporting_signals"])


class CliMaskingConfig(dg.Config):
    """National CLIs on international trunks, per trunk over 24 h."""

    min_distinct_clis: int = cli_masking.CliMaskingParams.min_distinct_clis
    min_masked_calls: int = cli_masking.CliMaskingParams.min_masked_calls
    national_number_lengths: str = cli_masking.CliMaskingParams.national_number_lengths


@dg.asset(deps=[_raw_window(cli_masking.WINDOW_HOURS - 1), ref_trunks, ref_number_ranges, ref_whitelist],
          **_detector_asset)
def cli_masking_detections(
    context: dg.AssetExecutionContext, config: CliMaskingConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """International trunks delivering calls that present valid national CLIs of the home country."""
    params = cli_masking.CliMaskingParams(**config.model_dump())
    sql = cli_masking.detect_sql(params, sentinel.settings().country_code)
    return _run_raw(context, sentinel, cli_masking.DETECTOR, sql, cli_masking.WINDOW_HOURS - 1, config,
                    ["calls", "national_cli_calls", "distinct_national_clis", "national_cli_share"])


class InvalidCliConfig(dg.Config):
    """Malformed / unallocated / wrong-length CLIs, per ingress trunk over 24 h."""

    min_invalid_calls: int = invalid_cli.InvalidCliParams.min_invalid_calls
    min_distinct_invalid_clis: int = invalid_cli.InvalidCliParams.min_distinct_invalid_clis
    national_number_lengths: str = invalid_cli.InvalidCliParams.national_number_lengths


@dg.asset(deps=[_raw_window(invalid_cli.WINDOW_HOURS - 1), ref_trunks, ref_number_ranges, ref_whitelist],
          **_detector_asset)
def invalid_cli_detections(
    context: dg.AssetExecutionContext, config: InvalidCliConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """Ingress trunks delivering CLIs that are malformed or outside the allocated numbering plan."""
    params = invalid_cli.InvalidCliParams(**config.model_dump())
    sql = invalid_cli.detect_sql(params, sentinel.settings().country_code)
    return _run_raw(context, sentinel, invalid_cli.DETECTOR, sql, invalid_cli.WINDOW_HOURS - 1, config,
                    ["calls", "invalid_cli_calls", "distinct_invalid_clis", "invalid_cli_share"])


class ImpossibleConcurrencyConfig(dg.Config):
    """More simultaneous answered calls than a line holds."""

    max_concurrent_calls: int = impossible_concurrency.ImpossibleConcurrencyParams.max_concurrent_calls
    min_lines_at_peak: int = impossible_concurrency.ImpossibleConcurrencyParams.min_lines_at_peak
    min_seconds_over_limit: int = impossible_concurrency.ImpossibleConcurrencyParams.min_seconds_over_limit


@dg.asset(deps=[_raw_window(impossible_concurrency.LOOKBACK_HOURS), ref_trunks, ref_whitelist],
          **_detector_asset)
def impossible_concurrency_detections(
    context: dg.AssetExecutionContext, config: ImpossibleConcurrencyConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """Calling numbers in more overlapping answered calls than a line can hold (default more than 2)."""
    params = impossible_concurrency.ImpossibleConcurrencyParams(**config.model_dump())
    sql = impossible_concurrency.detect_sql(params)
    return _run_raw(context, sentinel, impossible_concurrency.DETECTOR, sql, impossible_concurrency.LOOKBACK_HOURS,
                    config, ["peak_concurrent_calls", "peak_at", "lines_at_peak"])


class WangiriConfig(dg.Config):
    """One-ring calls from an international number to many subscribers, per number over 24 h."""

    min_distinct_callees: int = wangiri.WangiriParams.min_distinct_callees
    min_unanswered_share: float = wangiri.WangiriParams.min_unanswered_share
    max_answered_seconds: int = wangiri.WangiriParams.max_answered_seconds


@dg.asset(deps=[_raw_window(wangiri.WINDOW_HOURS - 1), ref_high_risk_destinations, ref_whitelist],
          **_detector_asset)
def wangiri_detections(
    context: dg.AssetExecutionContext, config: WangiriConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """International numbers ringing many distinct subscribers without being answered; call-backs and
    high-risk ranges in the evidence."""
    params = wangiri.WangiriParams(**config.model_dump())
    sql = wangiri.detect_sql(params, sentinel.settings().country_code)
    return _run_raw(context, sentinel, wangiri.DETECTOR, sql, wangiri.WINDOW_HOURS - 1, config,
                    ["distinct_callees", "unanswered_share", "callbacks", "high_risk_prefix"])


class IrsfConfig(dg.Config):
    """Calls and minutes to high-risk ranges beyond the subscriber's own baseline."""

    min_calls: int = irsf.IrsfParams.min_calls
    min_minutes: float = irsf.IrsfParams.min_minutes
    baseline_factor: float = irsf.IrsfParams.baseline_factor
    baseline_days: int = irsf.IrsfParams.baseline_days


@dg.asset(deps=[_raw_window(irsf.lookback_hours(irsf.IrsfParams())), ref_high_risk_destinations, ref_whitelist],
          **_detector_asset)
def irsf_detections(
    context: dg.AssetExecutionContext, config: IrsfConfig, sentinel: SentinelResource
) -> dg.MaterializeResult:
    """Own subscribers sending calls and minutes to high-risk international ranges beyond their baseline."""
    params = irsf.IrsfParams(**config.model_dump())
    sql = irsf.detect_sql(params, sentinel.settings().country_code)
    return _run_raw(context, sentinel, irsf.DETECTOR, sql, irsf.lookback_hours(params), config,
                    ["hr_calls", "hr_minutes", "baseline_daily_minutes", "hr_destinations"])


DETECTION_ASSETS = [
    sdhf_detections,
    simbox_profile_detections,
    cli_masking_detections,
    invalid_cli_detections,
    impossible_concurrency_detections,
    wangiri_detections,
    irsf_detections,
]

"""Asset checks: great-expectations suites (``sentinel_pipeline.quality``) on raw_cdrs, caller_features,
the detections and the alerts.

Blocking checks (ERROR severity, ``blocking=True``) stop everything downstream when the input is
unusable: a raw hour or feature hour that breaks its column contract, detections that break theirs.
The others warn. A run over a range of hours checks every hour in it. Each result carries the failing
expectations and sample failing values as metadata (the UI's check view), and is also written to
``sentinel.dq_results``. great-expectations is imported inside the check functions only.
"""

import dagster as dg

from assets.alerts import alerts
from assets.cdrs import raw_cdrs
from assets.detections import DETECTION_ASSETS
from assets.features import caller_features
from assets.partitions import hourly_partitions, partition_hours
from resources import SETTINGS, SentinelResource
from sentinel_pipeline.detectors import REGISTRY


RAW_CONTRACT = "raw_cdrs_contract"
RAW_PLAUSIBILITY = "raw_cdrs_plausibility"
RAW_VOLUME = "raw_cdrs_volume"
FEATURES_CONTRACT = "caller_features_contract"
DETECTIONS_CONTRACT = "detections_contract"
ALERTS_CONTRACT = "alerts_contract"


def check_result(context, sentinel: SentinelResource, outcomes, *, severity: dg.AssetCheckSeverity,
                 blocking: bool, what: str) -> dg.AssetCheckResult:
    """Keep the outcomes in sentinel.dq_results and turn them into one check result for the run."""
    from sentinel_pipeline.quality.results import failures_markdown, save_results

    with sentinel.postgres() as conn:
        save_results(conn, outcomes, severity=severity.value, blocking=blocking, run_id=context.op_execution_context.run_id)
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        context.log.warning(o.summary)
    if failed:
        description = f"{len(failed)} of {len(outcomes)} {what} failed; first: {failed[0].summary}"
    else:
        description = f"all {len(outcomes)} {what} passed"
    return dg.AssetCheckResult(
        passed=not failed,
        severity=severity,
        description=description[:1000],
        metadata={
            "checked": len(outcomes),
            "failed": len(failed),
            "failures": dg.MetadataValue.md(failures_markdown(failed) if failed else "none"),
            "summaries": dg.MetadataValue.md("\n".join(f"- {o.summary}" for o in (failed or outcomes)[:48])),
            "results": dg.MetadataValue.json(
                [{"hour": o.hour.isoformat() if o.hour else None, "passed": o.passed, "expectations": o.expectations}
                 for o in (failed or outcomes)[:6]]
            ),
        },
    )


_hourly = {"partitions_def": hourly_partitions}


@dg.asset_check(asset=raw_cdrs, name=RAW_CONTRACT, blocking=True, **_hourly)
def raw_cdrs_contract(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
    """Every raw hour keeps the column contract: all columns with their types; record_id, times, numbers,
    durations never null; durations 0..86400 s; record_type and service from their value sets; every
    seizure_time inside its partition hour; record_id unique. Blocking: detection does not run on an hour
    that breaks it."""
    from sentinel_pipeline.quality.lake_suites import raw_contract

    outcomes = raw_contract(sentinel.settings(), partition_hours(context), RAW_CONTRACT)
    return check_result(context, sentinel, outcomes, severity=dg.AssetCheckSeverity.ERROR, blocking=True,
                        what="raw hours")


@dg.asset_check(asset=raw_cdrs, name=RAW_PLAUSIBILITY, **_hourly)
def raw_cdrs_plausibility(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
    """At least 90 % of calling and called numbers are valid E.164, and 99.9 % of durations are under
    4 h. Warns: invalid numbers are a fraud signal as well as a data problem."""
    from sentinel_pipeline.quality.lake_suites import raw_plausibility

    outcomes = raw_plausibility(sentinel.settings(), partition_hours(context), RAW_PLAUSIBILITY)
    return check_result(context, sentinel, outcomes, severity=dg.AssetCheckSeverity.WARN, blocking=False,
                        what="raw hours")


@dg.asset_check(asset=raw_cdrs, name=RAW_VOLUME, **_hourly)
def raw_cdrs_volume(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
    """Each hour has at least 25 % of the traffic of the same hour on the previous 7 days (median); an
    hour with no rows where there usually are some is a stopped feed. Fails with ERROR severity but does
    not block: detection still runs on what arrived."""
    from sentinel_pipeline.quality.pg_suites import raw_volume

    with sentinel.postgres() as conn:
        outcomes = raw_volume(conn, partition_hours(context), RAW_VOLUME)
    return check_result(context, sentinel, outcomes, severity=dg.AssetCheckSeverity.ERROR, blocking=False,
                        what="hour volumes")


@dg.asset_check(asset=caller_features, name=FEATURES_CONTRACT, blocking=True, **_hourly)
def caller_features_contract(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
    """Feature hours: one row per caller, all rows of the partition hour, counts non-negative, shares in
    0..1, average durations plausible, a longer window never counting fewer calls than a shorter one.
    Blocking: detectors do not run on broken features."""
    from sentinel_pipeline.quality.lake_suites import features_contract

    outcomes = features_contract(sentinel.settings(), partition_hours(context), FEATURES_CONTRACT)
    return check_result(context, sentinel, outcomes, severity=dg.AssetCheckSeverity.ERROR, blocking=True,
                        what="feature hours")


def detections_check(detector: str, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:

    @dg.asset_check(
        asset=asset, name=DETECTIONS_CONTRACT, blocking=True, **_hourly,
        description=f"The {detector} detections of the run's hours: subject present, severity and score "
        "valid, first_seen <= last_seen, one row per hour and subject. Blocking: broken detections never "
        "become alerts.",
    )
    def _check(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
        from sentinel_pipeline.quality.pg_suites import detections_contract

        with sentinel.postgres() as conn:
            outcome = detections_contract(
                conn, detector, asset.key.to_user_string(), partition_hours(context), DETECTIONS_CONTRACT
            )
        return check_result(context, sentinel, [outcome], severity=dg.AssetCheckSeverity.ERROR, blocking=True,
                            what="detection sets")

    return _check


@dg.asset_check(asset=alerts, name=ALERTS_CONTRACT, **_hourly)
def alerts_contract(context: dg.AssetCheckExecutionContext, sentinel: SentinelResource) -> dg.AssetCheckResult:
    """Alerts of the subjects detected in the run's hours: one per (detector, subject), valid severity,
    status and score, first_seen <= last_seen, evidence present."""
    from sentinel_pipeline.quality.pg_suites import alerts_contract

    with sentinel.postgres() as conn:
        outcome = alerts_contract(conn, partition_hours(context), ALERTS_CONTRACT)
    return check_result(context, sentinel, [outcome], severity=dg.AssetCheckSeverity.WARN, blocking=False,
                        what="alert sets")


ASSET_CHECKS = [
    raw_cdrs_contract,
    raw_cdrs_plausibility,
    raw_cdrs_volume,
    caller_features_contract,
    *(detections_check(spec.name, asset) for spec, asset in zip(REGISTRY, DETECTION_ASSETS)),
    alerts_contract,
]


# When nothing materialises an hour any more (the pipeline or its sensor is down, or a feed has been
# silent for longer than the live span, see sentinel_pipeline/work.py), the hour's partition is missing by
# minute 20 of the next hour: the freshness check fails and the UI's asset health shows it.
FRESHNESS_CHECKS = dg.build_time_partition_freshness_checks(
    assets=[raw_cdrs], deadline_cron="20 * * * *", timezone=SETTINGS.partition_timezone,
    severity=dg.AssetCheckSeverity.ERROR,
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=FRESHNESS_CHECKS, default_status=dg.DefaultSensorStatus.RUNNING,
)

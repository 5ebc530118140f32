"""The Dagster code location: Sentinel's assets, job, sensor and resources."""

from __future__ import annotations

import dagster as dg

from assets.alerts import alerts
from assets.automation import FOLLOW_UPSTREAM, automation_sensor
from assets.cdrs import raw_cdrs
from assets.checks import ASSET_CHECKS, FRESHNESS_CHECKS, freshness_sensor
from assets.detections import DETECTION_ASSETS
from assets.features import caller_features
from assets.reference import REFERENCE_ASSETS
from resources import SETTINGS, SentinelResource
from sensors.landing import cdr_pipeline_job, landing_files
from sentinel_pipeline.settings import Settings

# Everything computed from other assets follows them when they change; raw_cdrs follows the landing sensor.
derived = dg.map_asset_specs(
    lambda spec: spec.replace_attributes(automation_condition=FOLLOW_UPSTREAM),
    [caller_features, *DETECTION_ASSETS, alerts],
)



def build_definitions(settings: Settings) -> dg.Definitions:
    """The definitions with the resource built from ``settings`` (``sentinel process`` and the tests run
    jobs with the settings they were given; the code location uses the environment's)."""
    return dg.Definitions(
        assets=[raw_cdrs, *REFERENCE_ASSETS.values(), *derived],
        asset_checks=[*ASSET_CHECKS, *FRESHNESS_CHECKS],
        jobs=[cdr_pipeline_job],
        sensors=[landing_files, automation_sensor, freshness_sensor],
        resources={"sentinel": SentinelResource.from_settings(settings)},
        executor=executor(settings),
    )


def executor(settings: Settings) -> dg.ExecutorDefinition:
    """How a run executes its steps (``SENTINEL_EXECUTOR``). ``in_process`` (the default): in the run's own
    process, one after the other: one import of Dagster and great-expectations per run instead of one per
    step (seconds each), and DuckDB already uses every core within a step. ``multiprocess``: a subprocess
    per step, independent steps (the seven detectors) side by side. ``k8s``: a Kubernetes Job per step,
    sized by its ``dagster-k8s/config`` tag (``assets/steps.py``), for runs the daemon launches on
    Kubernetes. ``sentinel process`` executes ``in_process`` and ``multiprocess`` itself."""
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    if settings.executor == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return dg.in_process_executor


defs = build_definitions(SETTINGS)

"""The Dagster code location: Sentinel's assets, job, sensor and resources."""

from __future__ import annotations

import dagster as dg

from assets.alerts import alerts
from assets.cdrs import raw_cdrs
from assets.detections import DETECTION_ASSETS
from assets.features import caller_features
from assets.reference import REFERENCE_ASSETS
from resources import SentinelResource
from sensors.landing import cdr_pipeline_job, landing_files

defs = dg.Definitions(
    assets=[raw_cdrs, *REFERENCE_ASSETS, caller_features, *DETECTION_ASSETS, alerts],
    jobs=[cdr_pipeline_job],
    sensors=[landing_files],
    resources={"sentinel": SentinelResource()},
)

"""The Dagster code location: Sentinel's assets, job, sensor and resources."""

from __future__ import annotations

import dagster as dg

from assets.alerts import alerts
from assets.cdrs import raw_cdrs
from assets.detections import sdhf_detections
from assets.features import caller_features
from resources import SentinelResource
from sensors.landing import cdr_pipeline_job, landing_files

defs = dg.Definitions(
    assets=[raw_cdrs, caller_features, sdhf_detections, alerts],
    jobs=[cdr_pipeline_job],
    sensors=[landing_files],
    resources={"sentinel": SentinelResource()},
)

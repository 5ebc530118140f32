"""Declarative automation: downstream assets follow their upstream partitions.

When an upstream partition is materialised outside a run that also covers the downstream partition — a
raw hour re-run from the UI, a changed reference file — every downstream partition that reads it is
requested: for a raw hour, the caller_features hours whose trailing windows include it, and in turn their
detections and alerts. Only partitions within ``SENTINEL_AUTOMATION_LOOKBACK_HOURS`` of now are
considered, so that a change to an unpartitioned input (reference data) re-evaluates recent hours rather
than every hour since SENTINEL_PARTITIONS_START. Older hours are re-run by back-fill (or by the landing
sensor, which covers the windows of the files it registers).
"""

from datetime import timedelta

import dagster as dg

from resources import SETTINGS


def follow_upstream(lookback_hours: int) -> dg.AutomationCondition:
    return (
        dg.AutomationCondition.in_latest_time_window(lookback_delta=timedelta(hours=lookback_hours))
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("follow upstream")


FOLLOW_UPSTREAM = follow_upstream(SETTINGS.automation_lookback_hours)

automation_sensor = dg.AutomationConditionSensorDefinition(
    "follow_upstream",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests downstream partitions whose inputs changed (see assets/automation.py).",
)

"""SDHF — Short Duration, High Frequency: the original Sentinel rule.

One calling number reaching at least ``min_unique_destinations`` distinct numbers within
``time_window_hours`` with an average call duration of at most ``max_avg_duration_seconds`` — the
signature of a SIM box (or a robo-dialler) pushing bypassed traffic through local SIMs.

Severity tiers (the original engine's): CRITICAL >= 200 destinations and avg <= 1.5 s; HIGH >= 100 and
<= 2.0 s; MEDIUM >= 75 or <= 1.0 s; LOW otherwise. The score (0-1) weighs how far past the destination
threshold a number is (saturating at 4x) equally with how short its calls are against the duration limit.

It reads the hour's ``caller_features``, which already hold each window of SENTINEL_FEATURE_WINDOWS_HOURS;
``time_window_hours`` must be one of them.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import detection_rows
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


class SdhfParams(DetectorParams):
    time_window_hours: int = 24
    min_unique_destinations: int = 50
    max_avg_duration_seconds: float = 3.0
    # The features of the partition hour carry the trailing windows: nothing earlier is read.
    lookback_hours: ClassVar[int] = 0


def detect_sql(p: SdhfParams, settings: Settings) -> str:
    w = p.time_window_hours
    thresholds = (f"json_object('min_unique_destinations', {literal(p.min_unique_destinations)}, "
                  f"'max_avg_duration_seconds', {literal(p.max_avg_duration_seconds)})")
    window = f"""(
    select caller, hour, distinct_callees_{w}h as distinct_destinations, avg_duration_s_{w}h as avg_duration_s,
        calls_{w}h as calls, answered_calls_{w}h as answered_calls, short_call_share_{w}h as short_call_share,
        received_calls_{w}h as received_calls, distinct_cells_{w}h as distinct_cells,
        first_call_{w}h as first_seen, last_call_{w}h as last_seen, {thresholds} as thresholds
    from features
)"""
    return detection_rows(
        subject_type="msisdn", subject="caller", partition_hour="hour", lookback_hours=w - 1,
        severity=[("distinct_destinations >= 200 and avg_duration_s <= 1.5", "CRITICAL"),
                  ("distinct_destinations >= 100 and avg_duration_s <= 2.0", "HIGH"),
                  ("distinct_destinations >= 75 or avg_duration_s <= 1.0", "MEDIUM")],
        score=f"0.5 * least(1.0, distinct_destinations / {4 * p.min_unique_destinations:.1f})"
              f" + 0.5 * (1 - avg_duration_s / {max(p.max_avg_duration_seconds, 1e-9)})",
        evidence=("distinct_destinations", "avg_duration_s", "calls", "answered_calls", "short_call_share",
                  "received_calls", "distinct_cells", "thresholds"),
        source=window,
        where=f"distinct_destinations >= {literal(p.min_unique_destinations)}"
              f" and avg_duration_s <= {literal(p.max_avg_duration_seconds)}",
    )


def _window_computed(p: SdhfParams, settings: Settings) -> str | None:
    if p.time_window_hours not in settings.feature_windows_hours:
        return (f"time_window_hours={p.time_window_hours} is not a computed feature window; computed: "
                f"{settings.feature_windows_hours} (SENTINEL_FEATURE_WINDOWS_HOURS)")
    return None


SPEC = DetectorSpec("sdhf", SdhfParams, detect_sql, subject_types=("msisdn",),
                    summary_columns=("distinct_destinations", "avg_duration_s", "calls"),
                    source="caller_features", fraud_types=("simbox_sdhf", "wangiri"), validate=_window_computed)

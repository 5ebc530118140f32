"""SDHF — Short Duration, High Frequency: the original Sentinel rule.

One calling number reaching at least ``min_unique_destinations`` distinct numbers within
``time_window_hours`` with an average call duration of at most ``max_avg_duration_seconds`` — the
signature of a SIM box (or a robo-dialler) pushing bypassed traffic through local SIMs.

Severity tiers (the original engine's): CRITICAL >= 200 destinations and avg <= 1.5 s; HIGH >= 100 and
<= 2.0 s; MEDIUM >= 75 or <= 1.0 s; LOW otherwise. The score (0-1) weighs how far past the destination
threshold a number is (saturating at 4x) equally with how short its calls are against the duration limit.
"""

from __future__ import annotations

from dataclasses import dataclass

DETECTOR = "sdhf"


@dataclass(frozen=True)
class SdhfParams:
    time_window_hours: int = 24
    min_unique_destinations: int = 50
    max_avg_duration_seconds: float = 3.0


def detect_sql(features_table: str, params: SdhfParams) -> str:
    """SQL over a caller_features relation yielding detection rows (without partition_hour)."""
    w = params.time_window_hours
    d = f"distinct_callees_{w}h"
    avg = f"avg_duration_s_{w}h"
    return f"""
select
    'msisdn' as subject_type,
    caller as subject,
    hour as partition_hour,
    hour - interval {w - 1} hours as window_start,
    hour + interval 1 hour as window_end,
    case
        when {d} >= 200 and {avg} <= 1.5 then 'CRITICAL'
        when {d} >= 100 and {avg} <= 2.0 then 'HIGH'
        when {d} >= 75 or {avg} <= 1.0 then 'MEDIUM'
        else 'LOW'
    end as severity,
    round(
        0.5 * least(1.0, {d} / {4 * params.min_unique_destinations:.1f})
        + 0.5 * (1 - {avg} / {max(params.max_avg_duration_seconds, 1e-9)}),
        4
    ) as score,
    first_call_{w}h as first_seen,
    last_call_{w}h as last_seen,
    json_object(
        'distinct_destinations', {d},
        'avg_duration_s', {avg},
        'calls', calls_{w}h,
        'answered_calls', answered_calls_{w}h,
        'short_call_share', short_call_share_{w}h,
        'received_calls', received_calls_{w}h,
        'distinct_cells', distinct_cells_{w}h,
        'window_hours', {w},
        'thresholds', json_object(
            'min_unique_destinations', {params.min_unique_destinations},
            'max_avg_duration_seconds', {params.max_avg_duration_seconds}
        )
    ) as metrics
from {features_table}
where {d} >= {params.min_unique_destinations}
  and {avg} <= {params.max_avg_duration_seconds}
"""

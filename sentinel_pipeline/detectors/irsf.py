"""irsf: an own subscriber suddenly sending calls and minutes to high-risk international ranges.

International Revenue Share Fraud pumps traffic to premium or high-cost ranges (small islands,
satellite, number-resale networks) whose terminating carrier shares the revenue with the fraudster,
typically from a stolen, swapped or newly activated SIM, in a burst before the bill arrives. The
subscriber's own history is the baseline: someone who calls family on such a range every day is not
new; a line that never did and now talks to it for hours is.

Rule, per own subscriber (``MOC`` records) over 24 h, for calls to numbers in
``high_risk_destinations.csv`` (longest prefix):

- ``min_calls``: at least this many calls to high-risk ranges (default 5), and
- ``min_minutes``: at least this many answered minutes to them (default 30), and
- ``baseline_factor``: those minutes exceed this multiple (default 3) of the subscriber's average daily
  high-risk minutes over the ``baseline_days`` (default 7) before the window, as far as the lake has them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel_pipeline.detectors.common import condition, high_risk_sql, in_window

DETECTOR = "irsf"
WINDOW_HOURS = 24


@dataclass(frozen=True)
class IrsfParams:
    min_calls: int = 5
    min_minutes: float = 30.0
    baseline_factor: float = 3.0
    baseline_days: int = 7


def lookback_hours(params: IrsfParams) -> int:
    return WINDOW_HOURS - 1 + 24 * params.baseline_days


def detect_sql(params: IrsfParams, country_code: str = "234") -> str:
    p = params
    conditions = ",\n            ".join([
        condition("min_calls", "hr_calls", ">=", p.min_calls),
        condition("min_minutes", "hr_minutes", ">=", p.min_minutes),
        condition("above_baseline", "hr_minutes", ">", f"{p.baseline_factor} * baseline_daily_minutes"),
    ])
    return f"""
with outgoing as (
    -- own subscribers' calls abroad (the b_number in another country)
    select * from cdrs
    where record_type = 'MOC' and starts_with(a_number, '+{country_code}')
      and starts_with(b_number, '+') and not starts_with(b_number, '+{country_code}')
),
high_risk as ({high_risk_sql("outgoing", "b_number")}),
hr_calls as (
    select o.*, h.hr_prefix, h.hr_reason
    from outgoing o join high_risk h on h.number = o.b_number
),
windowed as (
    select t.hour as partition_hour, c.a_number,
        count(*) as hr_calls,
        count(*) filter (where c.duration_s > 0) as hr_answered_calls,
        round(sum(c.duration_s) / 60.0, 1) as hr_minutes,
        count(distinct c.b_number) as hr_destinations,
        list(distinct c.hr_reason) as hr_ranges,
        (list(distinct c.b_number))[1:5] as example_destinations,
        count(distinct c.imei) as imeis,
        count(distinct c.cell_id) as cells,
        bool_or(c.hour = t.hour) as active_in_hour,
        min(c.seizure_time) as first_seen,
        max(c.seizure_time) as last_seen
    from hr_calls c join targets t on {in_window(WINDOW_HOURS)}
    group by all
),
baseline as (
    -- the subscriber's high-risk minutes in the days before the window
    select t.hour as partition_hour, c.a_number, round(sum(c.duration_s) / 60.0, 1) as baseline_minutes
    from hr_calls c join targets t
      on c.hour <= t.hour - interval {WINDOW_HOURS} hours
     and c.hour > t.hour - interval {WINDOW_HOURS + 24 * p.baseline_days} hours
    group by all
),
history as (
    -- how many whole days before each window the lake holds
    select t.hour as partition_hour,
        least({p.baseline_days}, count(distinct c.hour) // 24) as baseline_days_available
    from (select distinct hour from cdrs) c join targets t
      on c.hour <= t.hour - interval {WINDOW_HOURS} hours
     and c.hour > t.hour - interval {WINDOW_HOURS + 24 * p.baseline_days} hours
    group by all
),
profiles as (
    select w.*,
        coalesce(b.baseline_minutes, 0) as baseline_minutes,
        coalesce(y.baseline_days_available, 0) as baseline_days_available,
        round(coalesce(b.baseline_minutes, 0) / greatest(coalesce(y.baseline_days_available, 0), 1), 1)
            as baseline_daily_minutes
    from windowed w
    left join baseline b using (partition_hour, a_number)
    left join history y using (partition_hour)
    where w.active_in_hour
)
select
    'msisdn' as subject_type,
    a_number as subject,
    partition_hour,
    partition_hour - interval {WINDOW_HOURS - 1} hours as window_start,
    partition_hour + interval 1 hour as window_end,
    case
        when hr_minutes >= 10 * {p.min_minutes} then 'CRITICAL'
        when hr_minutes >= 3 * {p.min_minutes} then 'HIGH'
        when hr_minutes >= 1.5 * {p.min_minutes} then 'MEDIUM'
        else 'LOW'
    end as severity,
    round(least(1.0, 0.5 + 0.5 * least(1.0, hr_minutes / {10 * p.min_minutes:.1f})), 4) as score,
    first_seen,
    last_seen,
    json_object(
        'hr_calls', hr_calls,
        'hr_answered_calls', hr_answered_calls,
        'hr_minutes', hr_minutes,
        'hr_destinations', hr_destinations,
        'hr_ranges', hr_ranges,
        'example_destinations', example_destinations,
        'baseline_daily_minutes', baseline_daily_minutes,
        'baseline_days_available', baseline_days_available,
        'imeis', imeis,
        'cells', cells,
        'window_hours', {WINDOW_HOURS},
        'conditions', json_object(
            {conditions}
        )
    ) as metrics
from profiles
where hr_calls >= {p.min_calls}
  and hr_minutes >= {p.min_minutes}
  and hr_minutes > {p.baseline_factor} * baseline_daily_minutes
"""

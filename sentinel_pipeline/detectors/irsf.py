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

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import detection_rows, high_risk_sql, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

W = 24  # the window judged, in hours; the baseline days before it are read too


class IrsfParams(DetectorParams):
    min_calls: int = 5
    min_minutes: float = 30.0
    baseline_factor: float = 3.0
    baseline_days: int = 7

    @property
    def lookback_hours(self) -> int:
        return W - 1 + 24 * self.baseline_days


def detect_sql(p: IrsfParams, settings: Settings) -> str:
    home = literal("+" + settings.country_code)
    return f"""
with outgoing as (
    -- own subscribers' calls abroad (the b_number in another country)
    select * from cdrs
    where record_type = 'MOC' and starts_with(a_number, {home})
      and starts_with(b_number, '+') and not starts_with(b_number, {home})
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
        list(distinct c.hr_reason order by c.hr_reason) as hr_ranges,
        (list(distinct c.b_number order by c.b_number))[1:5] as example_destinations,
        count(distinct c.imei) as imeis,
        count(distinct c.cell_id) as cells,
        bool_or(c.hour = t.hour) as active_in_hour,
        min(c.seizure_time) as first_seen,
        max(c.seizure_time) as last_seen
    from hr_calls c join targets t on {in_lookback(W - 1)}
    group by all
),
baseline as (
    -- the subscriber's high-risk minutes in the days before the window
    select t.hour as partition_hour, c.a_number, round(sum(c.duration_s) / 60.0, 1) as baseline_minutes
    from hr_calls c join targets t
      on c.hour between t.hour - interval {p.lookback_hours} hours and t.hour - interval {W} hours
    group by all
),
history as (
    -- how many whole days before each window the lake holds
    select t.hour as partition_hour,
        least({p.baseline_days}, count(distinct c.hour) // 24) as baseline_days_available
    from (select distinct hour from cdrs) c join targets t
      on c.hour between t.hour - interval {p.lookback_hours} hours and t.hour - interval {W} hours
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
""" + detection_rows(
        subject_type="msisdn", subject="a_number", lookback_hours=W - 1,
        severity=[(f"hr_minutes >= 10 * {literal(p.min_minutes)}", "CRITICAL"),
                  (f"hr_minutes >= 3 * {literal(p.min_minutes)}", "HIGH"),
                  (f"hr_minutes >= 1.5 * {literal(p.min_minutes)}", "MEDIUM")],
        score=f"least(1.0, 0.5 + 0.5 * least(1.0, hr_minutes / {10 * p.min_minutes:.1f}))",
        evidence=("hr_calls", "hr_answered_calls", "hr_minutes", "hr_destinations", "hr_ranges", "example_destinations",
                  "baseline_daily_minutes", "baseline_days_available", "imeis", "cells"),
        source="profiles",
        rule=[("min_calls", "hr_calls", ">=", p.min_calls), ("min_minutes", "hr_minutes", ">=", p.min_minutes),
              ("above_baseline", "hr_minutes", ">", f"{literal(p.baseline_factor)} * baseline_daily_minutes")],
    )


SPEC = DetectorSpec("irsf", IrsfParams, detect_sql, subject_types=("msisdn",),
                    summary_columns=("hr_calls", "hr_minutes", "baseline_daily_minutes", "hr_destinations"),
                    reference_files=("high_risk_destinations.csv",), fraud_types=("irsf",))

"""wangiri: an international number ringing many subscribers briefly, hoping they call back.

"One ring and cut": the caller hangs up before (or right after) the answer, so that the missed call
makes the subscriber call back a premium-rate number abroad. The caller needs many victims, each rung
once, and must not be answered: a genuine foreign caller rings a few people and talks to them; a
foreign telemarketer talks too.

Rule, per foreign calling number (CLI of another country) on calls arriving from abroad (``IGW_IN``),
over 24 h:

- ``min_distinct_callees``: at least this many distinct subscribers rung (default 20);
- ``min_unanswered_share``: at least this share of its calls unanswered or cut within
  ``max_answered_seconds`` (default 0.9 and 3 s).

Evidence: the call-backs (own subscribers' ``MOC`` calls to the number in the window), their minutes,
and whether the number lies in a high-risk range (``high_risk_destinations.csv``), which raises severity.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel_pipeline.detectors.common import condition, high_risk_sql, in_window

DETECTOR = "wangiri"
WINDOW_HOURS = 24


@dataclass(frozen=True)
class WangiriParams:
    min_distinct_callees: int = 20
    min_unanswered_share: float = 0.9
    max_answered_seconds: int = 3


def detect_sql(params: WangiriParams, country_code: str = "234") -> str:
    p = params
    conditions = ",\n            ".join([
        condition("min_distinct_callees", "distinct_callees", ">=", p.min_distinct_callees),
        condition("min_unanswered_share", "unanswered_share", ">=", p.min_unanswered_share),
    ])
    return f"""
with rung as (
    select t.hour as partition_hour, c.a_number, c.b_number, c.duration_s, c.seizure_time,
           c.hour = t.hour as in_hour
    from cdrs c join targets t on {in_window(WINDOW_HOURS)}
    where c.record_type = 'IGW_IN' and c.a_valid and not starts_with(c.a_number, '+{country_code}')
),
callers as (
    select partition_hour, a_number,
        count(*) as calls,
        count(distinct b_number) as distinct_callees,
        count(*) filter (where duration_s <= {p.max_answered_seconds}) as unanswered_or_cut,
        bool_or(in_hour) as active_in_hour,
        min(seizure_time) as first_seen,
        max(seizure_time) as last_seen
    from rung
    group by all
),
suspects as (
    select *, round(unanswered_or_cut / calls, 4) as unanswered_share
    from callers
    where active_in_hour
      and distinct_callees >= {p.min_distinct_callees}
      and unanswered_or_cut >= {p.min_unanswered_share} * calls
),
callbacks as (
    select t.hour as partition_hour, c.b_number as a_number,
        count(*) as callbacks,
        count(distinct c.a_number) as callback_subscribers,
        round(sum(c.duration_s) / 60.0, 1) as callback_minutes
    from cdrs c join targets t on {in_window(WINDOW_HOURS)}
    where c.record_type = 'MOC' and c.b_number in (select a_number from suspects)
    group by all
),
high_risk as ({high_risk_sql("suspects", "a_number")})
select
    'msisdn' as subject_type,
    s.a_number as subject,
    s.partition_hour,
    s.partition_hour - interval {WINDOW_HOURS - 1} hours as window_start,
    s.partition_hour + interval 1 hour as window_end,
    case
        when h.hr_prefix is not null and coalesce(b.callbacks, 0) > 0 then 'CRITICAL'
        when h.hr_prefix is not null or coalesce(b.callbacks, 0) > 0 then 'HIGH'
        when s.distinct_callees >= 5 * {p.min_distinct_callees} then 'MEDIUM'
        else 'LOW'
    end as severity,
    round(least(1.0,
        0.5 * least(1.0, s.distinct_callees / {5 * p.min_distinct_callees:.1f})
        + 0.25 * s.unanswered_share
        + 0.15 * (h.hr_prefix is not null)::int
        + 0.1 * (coalesce(b.callbacks, 0) > 0)::int), 4) as score,
    s.first_seen,
    s.last_seen,
    json_object(
        'calls', s.calls,
        'distinct_callees', s.distinct_callees,
        'unanswered_share', s.unanswered_share,
        'callbacks', coalesce(b.callbacks, 0),
        'callback_subscribers', coalesce(b.callback_subscribers, 0),
        'callback_minutes', coalesce(b.callback_minutes, 0),
        'high_risk_prefix', h.hr_prefix,
        'high_risk_reason', h.hr_reason,
        'window_hours', {WINDOW_HOURS},
        'conditions', json_object(
            {conditions}
        )
    ) as metrics
from suspects s
left join callbacks b using (partition_hour, a_number)
left join high_risk h on h.number = s.a_number
"""

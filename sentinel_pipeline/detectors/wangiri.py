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

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import detection_rows, high_risk_sql, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


class WangiriParams(DetectorParams):
    min_distinct_callees: int = 20
    min_unanswered_share: float = 0.9
    max_answered_seconds: int = 3
    lookback_hours: ClassVar[int] = 23


def detect_sql(p: WangiriParams, settings: Settings) -> str:
    L = p.lookback_hours
    home = literal("+" + settings.country_code)
    return f"""
with rung as (
    select t.hour as partition_hour, c.a_number, c.b_number, c.duration_s, c.seizure_time,
           c.hour = t.hour as in_hour
    from cdrs c join targets t on {in_lookback(L)}
    where c.record_type = 'IGW_IN' and c.a_valid and not starts_with(c.a_number, {home})
),
callers as (
    select partition_hour, a_number,
        count(*) as calls,
        count(distinct b_number) as distinct_callees,
        count(*) filter (where duration_s <= {literal(p.max_answered_seconds)}) as unanswered_or_cut,
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
      and distinct_callees >= {literal(p.min_distinct_callees)}
      and unanswered_or_cut >= {literal(p.min_unanswered_share)} * calls
),
callbacks as (
    select t.hour as partition_hour, c.b_number as a_number,
        count(*) as callbacks,
        count(distinct c.a_number) as callback_subscribers,
        round(sum(c.duration_s) / 60.0, 1) as callback_minutes
    from cdrs c join targets t on {in_lookback(L)}
    where c.record_type = 'MOC' and c.b_number in (select a_number from suspects)
    group by all
),
high_risk as ({high_risk_sql("suspects", "a_number")}),
profiles as (
    select s.*, h.hr_prefix as high_risk_prefix, h.hr_reason as high_risk_reason,
           coalesce(b.callbacks, 0) as callbacks,
           coalesce(b.callback_subscribers, 0) as callback_subscribers,
           coalesce(b.callback_minutes, 0) as callback_minutes
    from suspects s
    left join callbacks b using (partition_hour, a_number)
    left join high_risk h on h.number = s.a_number
)
""" + detection_rows(
        subject_type="msisdn", subject="a_number", lookback_hours=L,
        severity=[("high_risk_prefix is not null and callbacks > 0", "CRITICAL"),
                  ("high_risk_prefix is not null or callbacks > 0", "HIGH"),
                  (f"distinct_callees >= 5 * {literal(p.min_distinct_callees)}", "MEDIUM")],
        score=f"""least(1.0,
        0.5 * least(1.0, distinct_callees / {5 * p.min_distinct_callees:.1f})
        + 0.25 * unanswered_share
        + 0.15 * (high_risk_prefix is not null)::int
        + 0.1 * (callbacks > 0)::int)""",
        evidence=("calls", "distinct_callees", "unanswered_share", "callbacks", "callback_subscribers",
                  "callback_minutes", "high_risk_prefix", "high_risk_reason"),
        source="profiles",
        rule=[("min_distinct_callees", "distinct_callees", ">=", p.min_distinct_callees),
              ("min_unanswered_share", "unanswered_share", ">=", p.min_unanswered_share)],
    )


SPEC = DetectorSpec("wangiri", WangiriParams, detect_sql, subject_types=("msisdn",),
                    summary_columns=("distinct_callees", "unanswered_share", "callbacks", "high_risk_prefix"),
                    reference_files=("high_risk_destinations.csv",), fraud_types=("wangiri",))

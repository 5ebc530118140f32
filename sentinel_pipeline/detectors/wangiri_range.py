"""wangiri_range: one-ring calls from many numbers of one foreign range, each under the per-number rule, over 24 h.

A Wangiri operator who knows the per-number rule (``wangiri``: 20 subscribers a day) rents a block of
numbers and rotates through it: each number rings only a handful of subscribers, the range rings
hundreds. Judged per range — the first ``range_digits`` digits of the E.164 number, the way ranges are
allocated and rented — the scheme is the same as one number's: many victims, nobody answered.

Rule, per range of foreign calling numbers on calls arriving from abroad (``IGW_IN``), over 24 h:

- ``min_numbers``: at least this many distinct numbers of the range called;
- ``min_distinct_callees``: at least this many distinct subscribers rung by the range;
- ``min_unanswered_share``: at least this share of the range's calls unanswered or cut within
  ``max_answered_seconds``.

A foreign contact centre's block of direct-dial numbers also calls many subscribers from one range: it
is answered and talks. Evidence: the range's numbers, calls, callees, the most callees one number reached
(showing the per-number rule was evaded), call-backs (own subscribers' ``MOC`` calls to numbers of the
range in the window) and the high-risk range it lies in, which raise severity as in ``wangiri``.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import detection_rows, high_risk_sql, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


class WangiriRangeParams(DetectorParams):
    range_digits: int = 7
    min_numbers: int = 10
    min_distinct_callees: int = 50
    min_unanswered_share: float = 0.9
    max_answered_seconds: int = 3
    lookback_hours: ClassVar[int] = 23


def detect_sql(p: WangiriRangeParams, settings: Settings) -> str:
    L = p.lookback_hours
    home = literal("+" + settings.country_code)
    within = f"between w.partition_hour - interval {L} hours and w.partition_hour"
    return f"""
with rung as (
    -- one-ring candidates: foreign numbers calling in from abroad, with their range
    select hour, substr(a_number, 2, {p.range_digits}) as range, a_number, b_number, seizure_time,
           duration_s <= {literal(p.max_answered_seconds)} as cut
    from cdrs
    where record_type = 'IGW_IN' and a_valid and not starts_with(a_number, {home})
),
range_hours as (
    -- per range and hour: calls, and those unanswered or cut (additive: the window's sums are cheap)
    select hour, range, count(*) as calls, count(*) filter (where cut) as cut_calls,
           min(seizure_time) as first_seen, max(seizure_time) as last_seen
    from rung
    group by all
),
windows as (
    -- ranges active in a target hour, ringing mostly unanswered, with calls enough for enough callees
    select t.hour as partition_hour, r.range, sum(r.calls) as calls, sum(r.cut_calls) as unanswered_or_cut,
           min(r.first_seen) as first_seen, max(r.last_seen) as last_seen
    from range_hours r join targets t on {in_lookback(L, 'r')}
    group by all
    having bool_or(r.hour = t.hour)
       and sum(r.calls) >= {p.min_distinct_callees}
       and sum(r.cut_calls) >= {literal(p.min_unanswered_share)} * sum(r.calls)
),
per_number as (
    select w.partition_hour, w.range, c.a_number, count(distinct c.b_number) as callees
    from windows w join rung c on c.range = w.range and c.hour {within}
    group by all
),
ranges as (
    select w.*, n.numbers, n.max_callees_per_number, n.example_numbers, v.distinct_callees,
           round(w.unanswered_or_cut / w.calls, 4) as unanswered_share
    from windows w
    join (select partition_hour, range, count(*) as numbers, max(callees) as max_callees_per_number,
                 (list(a_number order by callees desc, a_number))[1:5] as example_numbers
          from per_number group by all) n using (partition_hour, range)
    join (select w.partition_hour, w.range, count(distinct c.b_number) as distinct_callees
          from windows w join rung c on c.range = w.range and c.hour {within}
          group by all) v using (partition_hour, range)
    where n.numbers >= {p.min_numbers} and v.distinct_callees >= {p.min_distinct_callees}
),
callbacks as (
    select w.partition_hour, w.range, count(*) as callbacks, count(distinct c.a_number) as callback_subscribers,
           round(sum(c.duration_s) / 60.0, 1) as callback_minutes
    from ranges w join cdrs c on substr(c.b_number, 2, {p.range_digits}) = w.range and c.hour {within}
    where c.record_type = 'MOC' and starts_with(c.b_number, '+')
    group by all
),
high_risk as ({high_risk_sql("(select '+' || range as range from ranges)", "range")}),
profiles as (
    select r.*, h.hr_prefix as high_risk_prefix, h.hr_reason as high_risk_reason,
           coalesce(b.callbacks, 0) as callbacks, coalesce(b.callback_subscribers, 0) as callback_subscribers,
           coalesce(b.callback_minutes, 0) as callback_minutes
    from ranges r
    left join callbacks b using (partition_hour, range)
    left join high_risk h on h.number = '+' || r.range
)
""" + detection_rows(
        subject_type="range", subject="range", lookback_hours=L,
        severity=[("high_risk_prefix is not null and callbacks > 0", "CRITICAL"),
                  ("high_risk_prefix is not null or callbacks > 0", "HIGH"),
                  (f"distinct_callees >= 5 * {literal(p.min_distinct_callees)}", "MEDIUM")],
        score=f"""least(1.0,
        0.5 * least(1.0, distinct_callees / {5.0 * p.min_distinct_callees})
        + 0.25 * unanswered_share
        + 0.15 * (high_risk_prefix is not null)::int
        + 0.1 * (callbacks > 0)::int)""",
        evidence=("numbers", "calls", "distinct_callees", "max_callees_per_number", "unanswered_share", "callbacks",
                  "callback_subscribers", "callback_minutes", "high_risk_prefix", "high_risk_reason",
                  "example_numbers"),
        source="profiles",
        rule=[("min_numbers", "numbers", ">=", p.min_numbers),
              ("min_distinct_callees", "distinct_callees", ">=", p.min_distinct_callees),
              ("min_unanswered_share", "unanswered_share", ">=", p.min_unanswered_share)],
    )


SPEC = DetectorSpec("wangiri_range", WangiriRangeParams, detect_sql, subject_types=("range",),
                    summary_columns=("numbers", "distinct_callees", "max_callees_per_number", "unanswered_share"),
                    reference_files=("high_risk_destinations.csv",), fraud_types=("wangiri_range",))

"""cli_masking: an international trunk delivering calls that present a national CLI of the home country.

A call that arrives from abroad on an international gateway trunk cannot honestly carry a home-country
caller number, except from the operator's own subscribers roaming abroad. A carrier that re-labels
international calls as national ones (to be paid the local termination rate, or to hide the origin)
puts many different home numbers on one trunk: each masked call borrows a number, so the trunk shows
many distinct national CLIs. Roamers are a handful of numbers that call home repeatedly.

Rule, per ingress trunk over 24 h: calls on an international trunk (``trunk_in`` of kind
``international`` in ``trunks.csv``, or any ``IGW_IN`` record) whose CLI is a valid, allocated home
number (see ``common.cli_class_sql``; malformed and unallocated CLIs belong to ``invalid_cli``):

- ``min_distinct_clis``: at least this many distinct national CLIs (default 10: more than a trunk's
  roamers), and
- ``min_masked_calls``: at least this many such calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel_pipeline.detectors.common import cli_class_sql, condition, in_window, parse_lengths

DETECTOR = "cli_masking"
WINDOW_HOURS = 24


@dataclass(frozen=True)
class CliMaskingParams:
    min_distinct_clis: int = 10
    min_masked_calls: int = 10
    national_number_lengths: str = "mobile=10,fixed=8"


def detect_sql(params: CliMaskingParams, country_code: str = "234") -> str:
    p = params
    conditions = ",\n            ".join([
        condition("min_distinct_clis", "distinct_national_clis", ">=", p.min_distinct_clis),
        condition("min_masked_calls", "national_cli_calls", ">=", p.min_masked_calls),
    ])
    return f"""
with arrived as (
    -- calls arriving from abroad, in each target hour's 24 h window (MTC legs are the same calls)
    select t.hour as partition_hour, c.trunk_in, c.a_number, c.a_number_raw, c.a_valid, c.seizure_time,
           c.hour = t.hour as in_hour
    from cdrs c join targets t on {in_window(WINDOW_HOURS)}
    where c.record_type <> 'MTC'
      and (c.record_type = 'IGW_IN'
           or c.trunk_in in (select trunk_id from ref_trunks where kind = 'international'))
),
clis as (select distinct a_number, a_number_raw, a_valid from arrived),
classified as ({cli_class_sql("clis", country_code, parse_lengths(p.national_number_lengths))}),
trunks as (
    select a.partition_hour, coalesce(a.trunk_in, '(none)') as trunk,
        count(*) as calls,
        count(*) filter (where k.cli_class = 'national') as national_cli_calls,
        count(distinct a.a_number) filter (where k.cli_class = 'national') as distinct_national_clis,
        bool_or(a.in_hour and k.cli_class = 'national') as active_in_hour,
        min(a.seizure_time) filter (where k.cli_class = 'national') as first_seen,
        max(a.seizure_time) filter (where k.cli_class = 'national') as last_seen,
        (list(distinct a.a_number_raw) filter (where k.cli_class = 'national'))[1:5] as example_clis
    from arrived a join classified k using (a_number, a_number_raw)
    group by all
)
select
    'trunk' as subject_type,
    trunk as subject,
    partition_hour,
    partition_hour - interval {WINDOW_HOURS - 1} hours as window_start,
    partition_hour + interval 1 hour as window_end,
    case
        when national_cli_calls >= 200 or national_share >= 0.2 then 'CRITICAL'
        when national_cli_calls >= 50 then 'HIGH'
        when national_cli_calls >= 20 then 'MEDIUM'
        else 'LOW'
    end as severity,
    round(
        0.5 * least(1.0, distinct_national_clis / {4 * p.min_distinct_clis:.1f})
        + 0.5 * least(1.0, national_share / 0.2),
        4
    ) as score,
    first_seen,
    last_seen,
    json_object(
        'calls', calls,
        'national_cli_calls', national_cli_calls,
        'distinct_national_clis', distinct_national_clis,
        'national_cli_share', national_share,
        'example_clis', example_clis,
        'window_hours', {WINDOW_HOURS},
        'conditions', json_object(
            {conditions}
        )
    ) as metrics
from (select *, round(national_cli_calls / calls, 4) as national_share from trunks)
where active_in_hour
  and distinct_national_clis >= {p.min_distinct_clis}
  and national_cli_calls >= {p.min_masked_calls}
"""

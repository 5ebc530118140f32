"""invalid_cli: calls presenting CLIs that are malformed or outside the allocated numbering plan, per
ingress trunk.

No real line has a number outside the plan: a CLI that is not a plausible E.164 number, a home number in
an unallocated range (``number_ranges.csv`` marks it, or no range covers it), or a home number of the
wrong length for its kind was made up by whoever delivered the call, usually to hide a bypassed or
spoofed origin. One such CLI can be a switch fault; a trunk that keeps delivering them is a partner
inventing numbers. Withheld CLIs (``anonymous``, ``private``, ...) are presentation-restricted, not invalid.

Rule, per ingress trunk (``trunk_in``) over 24 h, over calls entering on it (every originating record
with a ``trunk_in``, and ``MTC`` records of calls from national interconnects, which have no other leg):

- ``min_invalid_calls``: at least this many calls with an invalid CLI, and
- ``min_distinct_invalid_clis``: at least this many distinct invalid CLIs (one misconfigured line
  repeating a bad number is a fault ticket, not fraud).
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel_pipeline.detectors.common import cli_class_sql, condition, in_window, parse_lengths

DETECTOR = "invalid_cli"
WINDOW_HOURS = 24


@dataclass(frozen=True)
class InvalidCliParams:
    min_invalid_calls: int = 10
    min_distinct_invalid_clis: int = 5
    national_number_lengths: str = "mobile=10,fixed=8"


def detect_sql(params: InvalidCliParams, country_code: str = "234") -> str:
    p = params
    conditions = ",\n            ".join([
        condition("min_invalid_calls", "invalid_cli_calls", ">=", p.min_invalid_calls),
        condition("min_distinct_invalid_clis", "distinct_invalid_clis", ">=", p.min_distinct_invalid_clis),
    ])
    return f"""
with entered as (
    select t.hour as partition_hour, c.trunk_in, c.a_number, c.a_number_raw, c.a_valid, c.seizure_time,
           c.hour = t.hour as in_hour
    from cdrs c join targets t on {in_window(WINDOW_HOURS)}
    where c.trunk_in is not null
      and (c.record_type <> 'MTC'
           or c.trunk_in in (select trunk_id from ref_trunks where kind = 'national'))
),
clis as (select distinct a_number, a_number_raw, a_valid from entered),
classified as ({cli_class_sql("clis", country_code, parse_lengths(p.national_number_lengths))}),
trunks as (
    select e.partition_hour, e.trunk_in as trunk,
        count(*) as calls,
        count(*) filter (where k.cli_class in ('malformed', 'unallocated', 'wrong_length')) as invalid_cli_calls,
        count(distinct e.a_number_raw)
            filter (where k.cli_class in ('malformed', 'unallocated', 'wrong_length')) as distinct_invalid_clis,
        count(*) filter (where k.cli_class = 'malformed') as malformed,
        count(*) filter (where k.cli_class = 'unallocated') as unallocated,
        count(*) filter (where k.cli_class = 'wrong_length') as wrong_length,
        bool_or(e.in_hour and k.cli_class in ('malformed', 'unallocated', 'wrong_length')) as active_in_hour,
        min(e.seizure_time) filter (where k.cli_class in ('malformed', 'unallocated', 'wrong_length')) as first_seen,
        max(e.seizure_time) filter (where k.cli_class in ('malformed', 'unallocated', 'wrong_length')) as last_seen,
        (list(distinct e.a_number_raw)
            filter (where k.cli_class in ('malformed', 'unallocated', 'wrong_length')))[1:5] as example_clis
    from entered e join classified k using (a_number, a_number_raw)
    group by all
)
select
    'trunk' as subject_type,
    trunk as subject,
    partition_hour,
    partition_hour - interval {WINDOW_HOURS - 1} hours as window_start,
    partition_hour + interval 1 hour as window_end,
    case
        when invalid_cli_calls >= 100 or invalid_share >= 0.1 then 'CRITICAL'
        when invalid_cli_calls >= 50 then 'HIGH'
        when invalid_cli_calls >= 20 then 'MEDIUM'
        else 'LOW'
    end as severity,
    round(
        0.5 * least(1.0, invalid_cli_calls / {10 * p.min_invalid_calls:.1f})
        + 0.5 * least(1.0, invalid_share / 0.1),
        4
    ) as score,
    first_seen,
    last_seen,
    json_object(
        'calls', calls,
        'invalid_cli_calls', invalid_cli_calls,
        'distinct_invalid_clis', distinct_invalid_clis,
        'invalid_cli_share', invalid_share,
        'by_reason', json_object('malformed', malformed, 'unallocated', unallocated, 'wrong_length', wrong_length),
        'example_clis', example_clis,
        'window_hours', {WINDOW_HOURS},
        'conditions', json_object(
            {conditions}
        )
    ) as metrics
from (select *, round(invalid_cli_calls / calls, 4) as invalid_share from trunks)
where active_in_hour
  and invalid_cli_calls >= {p.min_invalid_calls}
  and distinct_invalid_clis >= {p.min_distinct_invalid_clis}
"""

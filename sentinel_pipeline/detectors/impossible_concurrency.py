"""impossible_concurrency: one calling number in more overlapping answered calls than a line can hold.

A subscriber line holds one call plus one on hold or waiting: at most 2 at once. A number seen in 3 or
more answered calls at the same instant is being presented by more than one line: a spoofed CLI on
gateway or transit traffic, or a cloned SIM. Lines behind an access trunk (PBX, call centre) are
multi-channel by design, so calls entering on a trunk of kind ``access`` are not counted; so are the
home numbering plan's fixed lines (``number_ranges.csv`` kinds in ``multi_line_kinds``, default
``fixed``): another network's PBX presents its pilot number on every channel of its trunk group.

A call is counted wherever the operator's CDRs see it: its originating record (``MOC`` at the caller's own
switch, ``IGW_IN`` at the international gateway, ``TRANSIT``), and — for calls from other national
networks, where the switch writes only the terminating leg — the ``MTC`` record of a call that entered on
a national interconnect (``trunk_in`` of kind ``national``). That is the commonest path of a spoofed CLI:
calls from another network presenting a number (often an own subscriber's) in several calls at once. An
``MTC`` of an on-net or gateway call is not counted, its ``MOC``/``IGW_IN`` is; and records of one call
(same caller, callee, start and duration) count once. The caller's handset is never taken from an
``MTC``, which carries the callee's. Only numbers are subjects: a withheld presentation (``anonymous``,
``private``) or a garbled CLI is no line, and hundreds of honest callers share it.

Rule, per calling number: the answered calls' intervals [answer, answer + duration) (seizure time when no
answer time) are swept in time order; the number is detected for an hour when the peak number of
simultaneous calls reached inside that hour exceeds ``max_concurrent_calls`` (default 2). Calls that
started in the ``lookback_hours`` (3) hours before the hour are included, so a call still running at the
hour's start counts. The evidence says which legs were counted at the peak (``legs_at_peak``).

The calls running at the peak must also come from at least ``min_lines_at_peak`` (default 2) lines: each
handset (IMEI) is one line, and a call without handset data (gateway, transit records) counts as a line
of its own. One handset cannot be in three answered calls either; overlaps on a single IMEI are CDR
timing artefacts (records closed late, call-waiting and conference legs), not a second line. A cloned
SIM shows up in several handsets at once; a spoofed CLI on a trunk has no handset at all.

And the number must stay over the limit for at least ``min_seconds_over_limit`` (default 60 s, one billing
minute) within the hour: CDR times have 1-second resolution, records from different switches are not
synchronised, and answer/release times carry signalling delays of seconds to tens of seconds, so a short
overlap (three 1-second answered calls of a dialler, a call released late) is not evidence of a second
line. A spoofed or cloned number is in several calls for minutes.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline import schema
from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import E164_SHAPE, detection_rows, in_lookback, prefixes_of
from sentinel_pipeline.duck import literal
from sentinel_pipeline.reference import RANGE_KINDS
from sentinel_pipeline.settings import Settings


# The slot of the candidate filter: short enough that ordinary back-to-back calls rarely share one.
BUCKET_SECONDS = 600


class ImpossibleConcurrencyParams(DetectorParams):
    max_concurrent_calls: int = 2
    min_lines_at_peak: int = 2
    min_seconds_over_limit: int = 60
    multi_line_kinds: str = "fixed"
    lookback_hours: ClassVar[int] = 3  # calls last minutes, rarely hours: the 3 hours before the hour


def detect_sql(p: ImpossibleConcurrencyParams, settings: Settings) -> str:
    originating = ", ".join(literal(t) for t in schema.ORIGINATING_RECORD_TYPES)
    limit = literal(p.max_concurrent_calls)
    multi_line = literal([k.strip() for k in p.multi_line_kinds.split(",") if k.strip()])
    return f"""
with counted as (
    -- every answered record of a call made by the number: originating records, and the terminating leg
    -- of a call from another national network (its only leg here)
    select a_number, b_number, coalesce(answer_time, seizure_time) as call_start, duration_s, hour,
           trunk_in, cell_id, imei, record_type
    from cdrs
    where duration_s > 0
      and (record_type in ({originating})
           or (record_type = 'MTC' and trunk_in in (select trunk_id from ref_trunks where kind = 'national')))
      and (trunk_in is null or trunk_in not in (select trunk_id from ref_trunks where kind = 'access'))
),
candidates as (
    -- numbers in more than the limit of records touching one ten-minute slot: calls that
    -- overlap at an instant all touch its slot, so no other number can exceed the limit (a cheap hash
    -- aggregate; most numbers are never in two calls at once, and the sweep below is for the few);
    -- numbers only: a withheld or garbled presentation is no line
    select distinct a_number
    from (select a_number, unnest(range(epoch(call_start)::bigint // {BUCKET_SECONDS},
                                        (epoch(call_start)::bigint + duration_s) // {BUCKET_SECONDS} + 1)) as slot
          from counted)
    group by a_number, slot
    having count(*) > {limit} and regexp_full_match(a_number, {literal(E164_SHAPE)})
),
multi_line_numbers as (
    -- candidates in a range of a multi-line kind (fixed lines: PBX pilots), longest prefix of the plan
    select n.a_number
    from {prefixes_of("(select a_number from candidates where starts_with(a_number, '+'))", "a_number", "ref_ranges")} n
    join ref_ranges r using (prefix)
    group by n.a_number
    having list_contains({multi_line}, arg_max(r.kind, length(r.prefix)))
),
legs as (
    -- one row per call of a candidate
    select a_number, b_number, call_start, duration_s, hour,
           any_value(trunk_in) as trunk_in, any_value(cell_id) as cell_id,
           any_value(imei) filter (where record_type <> 'MTC') as imei,
           min(case when record_type = 'MTC' then 'MTC_interconnect' else record_type end) as leg
    from counted
    where a_number in (select a_number from candidates except select a_number from multi_line_numbers)
    group by a_number, b_number, call_start, duration_s, hour
),
calls as (
    -- answered calls made in each target hour or running into it
    select t.hour as partition_hour, c.a_number, c.cell_id, c.imei, c.trunk_in, c.leg,
           c.call_start, c.call_start + to_seconds(c.duration_s) as call_end
    from legs c join targets t on {in_lookback(p.lookback_hours)}
),
events as (
    -- +1 when a call starts, -1 when it ends; at the same instant an end comes first
    select partition_hour, a_number, call_start as event_at, 1 as delta from calls
    union all
    select partition_hour, a_number, call_end as event_at, -1 as delta from calls
),
running as (
    select *, sum(delta) over (partition by partition_hour, a_number order by event_at, delta
                               rows between unbounded preceding and current row) as concurrent,
        lead(event_at) over (partition by partition_hour, a_number order by event_at, delta) as next_event_at
    from events
),
peaks as (
    -- moments inside the partition hour when the number was in more calls than a line holds
    select partition_hour, a_number,
        max(concurrent) as peak_concurrent_calls,
        arg_max(event_at, concurrent) as peak_at,
        count(*) filter (where delta = 1 and concurrent > {limit}) as calls_over_limit,
        sum(epoch(next_event_at) - epoch(event_at)) filter (where concurrent > {limit})
            as seconds_over_limit
    from running
    where event_at >= partition_hour and event_at < partition_hour + interval 1 hour
    group by all
    having max(concurrent) > {limit}
),
spread as (
    -- where the calls running at the peak came from
    select k.partition_hour, k.a_number,
        count(*) as calls_at_peak,
        count(distinct c.cell_id) as distinct_cells_at_peak,
        count(distinct c.imei) as distinct_imeis_at_peak,
        -- lines seen at the peak: each handset (IMEI) is one line; a call without handset data
        -- (gateway, transit) may come from any line, so counts as one
        count(distinct c.imei) + count(*) filter (where c.imei is null) as lines_at_peak,
        count(distinct c.trunk_in) as distinct_trunks_at_peak,
        list(distinct c.trunk_in order by c.trunk_in) filter (where c.trunk_in is not null) as trunks_at_peak,
        to_json(histogram(c.leg)) as legs_at_peak,
        min(c.call_start) as first_seen,
        max(c.call_end) as last_seen
    from peaks k join calls c
      on c.partition_hour = k.partition_hour and c.a_number = k.a_number
     and c.call_start <= k.peak_at and c.call_end > k.peak_at
    group by all
)
""" + detection_rows(
        subject_type="msisdn", subject="a_number", lookback_hours=p.lookback_hours,
        severity=[(f"peak_concurrent_calls >= 4 * {limit}", "CRITICAL"), (f"peak_concurrent_calls >= 2 * {limit}", "HIGH"),
                  (f"peak_concurrent_calls > {limit} + 1", "MEDIUM")],
        score=f"least(1.0, 0.5 + 0.5 * (peak_concurrent_calls - {limit}) / {3 * p.max_concurrent_calls:.1f})",
        evidence=("peak_concurrent_calls", "peak_at", "calls_over_limit", "seconds_over_limit", "distinct_cells_at_peak",
                  "distinct_imeis_at_peak", "distinct_trunks_at_peak", "trunks_at_peak", "lines_at_peak", "legs_at_peak"),
        source="peaks join spread using (partition_hour, a_number)",
        rule=[("max_concurrent_calls", "peak_concurrent_calls", ">", p.max_concurrent_calls),
              ("min_lines_at_peak", "lines_at_peak", ">=", p.min_lines_at_peak),
              ("min_seconds_over_limit", "seconds_over_limit", ">=", p.min_seconds_over_limit)],
    )


def _known_kinds(p: ImpossibleConcurrencyParams, settings: Settings) -> str | None:
    unknown = {k.strip() for k in p.multi_line_kinds.split(",") if k.strip()} - set(RANGE_KINDS)
    return f"multi_line_kinds: {sorted(unknown)} are not range kinds ({', '.join(RANGE_KINDS)})" if unknown else None


SPEC = DetectorSpec("impossible_concurrency", ImpossibleConcurrencyParams, detect_sql, subject_types=("msisdn",),
                    summary_columns=("peak_concurrent_calls", "peak_at", "lines_at_peak", "legs_at_peak"),
                    reference_files=("trunks.csv", "number_ranges.csv"), fraud_types=("impossible_concurrency",),
                    validate=_known_kinds)

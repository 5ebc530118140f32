"""simbox_cohort: SIM boxes found as groups of SIMs, including boxes whose SIMs imitate people, over 24 h.

A SIM box can make each of its SIMs look like a person: the SIMs call each other so that each receives
calls, each sits in its own module (one IMEI per SIM), the box is served by several neighbouring cells or
moved every night, its SIMs call some numbers again and again, talk for human durations in a day-shaped
rhythm. What it cannot hide is that the SIMs are one machine: they are seen together, at the same place,
in modules of one gateway model (one TAC), and nobody outside the box talks to them — a box's numbers are
known to no one, and call-backs to them are refused. Judged SIM by SIM this is invisible (a SIM called by
its box-mates receives calls); judged as a group, the calls received come from inside the group.

Rule, per group over the 24 h window:

- a **site** is an IMEI type allocation code (the first 8 digits: the handset or gateway model) and a
  serving cell, from calls made by own SIMs (``MOC`` with IMSI, IMEI and cell);
- **members**: own SIMs that made at least ``min_distinct_destinations`` distinct numbers in the window,
  from at most ``max_cells`` cells, whose answered calls received from SIMs they never share a site with are
  at most ``max_member_outside_ratio`` x their calls made;
- a **group**: members linked by sharing a site (transitively: a box spread over neighbouring cells, or
  moved, keeps its members together), with at least ``min_members`` members;
- required ``closed_circle``: the group's answered calls received from numbers outside the group at most
  ``max_outside_ratio`` x the calls its members made;
- required ``moves_together``: at least ``min_together_share`` of the group's calls made from cells that
  every member called from (a box's SIMs are all where the box is; neighbours linked only through one
  another's cells are not).

Supporting signals, for severity and score (all measured in the evidence): ``one_model`` (all members' IMEIs
one TAC), ``rotation`` (IMEIs that carried two member IMSIs or more), ``fresh_destinations`` (distinct
numbers called outside the group / calls outside the group >= ``min_fresh_ratio``), ``night_activity``
(share of calls 00-06 local >= ``min_night_share``).

Subject: ``box``, named by its representative (the smallest member number); the evidence lists every
member SIM, IMSI and IMEI, and ``sentinel.box_members`` links the members' own alerts to the box's.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import covered_targets_sql, detection_rows, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


class SimboxCohortParams(DetectorParams):
    min_distinct_destinations: int = 12
    max_cells: int = 6
    max_member_outside_ratio: float = 0.05
    min_members: int = 3
    max_outside_ratio: float = 0.01
    min_together_share: float = 0.5
    min_fresh_ratio: float = 0.8
    min_night_share: float = 0.1
    # As simbox_profile: "nobody outside talks to it" means nothing over a window holding an hour or two of data.
    min_hours_with_data: int = 12
    lookback_hours: ClassVar[int] = 23


def detect_sql(p: SimboxCohortParams, settings: Settings) -> str:
    L = p.lookback_hours
    tz = literal(settings.partition_timezone)
    within = f"between w.partition_hour - interval {L} hours and w.partition_hour"
    return f"""
with recursive hourly_sites as (
    -- per own SIM, hour and site (TAC, cell): calls made (a SIM with a handset and a cell)
    select a_number, hour, left(imei, 8) as tac, cell_id, imsi, imei,
           count(*) as calls,
           count(*) filter (where hour(timezone({tz}, seizure_time)) < 6) as night_calls,
           min(seizure_time) as first_call, max(seizure_time) as last_call
    from cdrs
    where record_type = 'MOC' and service = 'voice'
      and imsi is not null and imei is not null and cell_id is not null
    group by all
),
covered_targets as ({covered_targets_sql(L, p.min_hours_with_data)}),
busy as (
    -- SIMs that made enough calls in the window to be judged (calls >= distinct numbers)
    select t.hour as partition_hour, h.a_number, sum(h.calls) as calls
    from hourly_sites h join covered_targets t on {in_lookback(L, 'h')}
    group by all
    having sum(h.calls) >= {p.min_distinct_destinations}
),
sites as (
    select distinct w.partition_hour, w.a_number, h.tac, h.cell_id
    from busy w join hourly_sites h on h.a_number = w.a_number and h.hour {within}
),
placed as (
    select partition_hour, a_number from sites group by all having count(distinct cell_id) <= {p.max_cells}
),
received as (
    -- answered calls received by those SIMs in the window, per caller
    select w.partition_hour, r.b_number as a_number, r.a_number as caller, count(*) as answered
    from cdrs r join placed w on r.b_number = w.a_number and r.hour {within}
    where r.record_type = 'MTC' and r.service = 'voice' and r.duration_s > 0
    group by all
),
outside as (
    -- per SIM: answered calls received from callers it never shares a site with
    select r.partition_hour, r.a_number, sum(r.answered) as outside_answered
    from received r
    where not exists (select 1 from sites a join sites b using (partition_hour, tac, cell_id)
                      where a.partition_hour = r.partition_hour and a.a_number = r.a_number
                        and b.a_number = r.caller)
    group by all
),
members as (
    select w.partition_hour, w.a_number, w.calls
    from placed p join busy w using (partition_hour, a_number)
    left join outside o using (partition_hour, a_number)
    where coalesce(o.outside_answered, 0) <= {p.max_member_outside_ratio} * w.calls
),
links as (
    -- members sharing a site
    select distinct a.partition_hour, a.a_number, b.a_number as mate
    from sites a join sites b using (partition_hour, tac, cell_id)
    where a.a_number in (select a_number from members m where m.partition_hour = a.partition_hour)
      and b.a_number in (select a_number from members m where m.partition_hour = a.partition_hour)
),
reach(partition_hour, a_number, mate) as (
    -- members reachable through shared sites (a box over several cells stays one group)
    select partition_hour, a_number, mate from links
    union
    select r.partition_hour, r.a_number, l.mate
    from reach r join links l on l.partition_hour = r.partition_hour and l.a_number = r.mate
),
grouped as (
    select partition_hour, a_number, min(mate) as box from reach group by all
),
member_calls as (
    -- every call of every member in the window, with its box
    select g.partition_hour, g.box, c.a_number, c.b_number, c.imsi, c.imei, left(c.imei, 8) as tac,
           c.cell_id, c.seizure_time, c.hour, hour(timezone({tz}, c.seizure_time)) < 6 as at_night,
           b.a_number is not null as to_member
    from grouped g
    join cdrs c on c.a_number = g.a_number and c.hour between g.partition_hour - interval {L} hours and g.partition_hour
    left join grouped b on b.partition_hour = g.partition_hour and b.box = g.box and b.a_number = c.b_number
    where c.record_type = 'MOC' and c.service = 'voice' and c.imsi is not null and c.imei is not null
      and c.cell_id is not null
),
boxes as (
    select partition_hour, box,
        count(distinct a_number) as members,
        count(*) as calls,
        count(*) filter (where to_member) as calls_to_members,
        count(distinct b_number) filter (where not to_member) as distinct_destinations,
        count(*) filter (where at_night) as night_calls,
        count(distinct tac) as tacs,
        count(distinct cell_id) as distinct_cells,
        count(distinct imei) as imeis,
        bool_or(hour = partition_hour) as active_in_hour,
        list(distinct a_number order by a_number) as msisdns,
        list(distinct imsi order by imsi) as imsis,
        list(distinct imei order by imei) as imei_list,
        list(distinct cell_id order by cell_id) as cells,
        min(seizure_time) as first_seen,
        max(seizure_time) as last_seen
    from member_calls
    group by all
),
together as (
    -- calls made from cells every member of the group called from: a box's SIMs are where the box is
    select u.partition_hour, u.box, sum(u.calls) filter (where u.users = b.members) as calls_together
    from (select partition_hour, box, cell_id, count(distinct a_number) as users, count(*) as calls
          from member_calls group by all) u
    join boxes b using (partition_hour, box)
    group by all
),
rotating as (
    -- IMEIs that carried two member IMSIs or more: modules the SIM bank moves SIMs between
    select partition_hour, box, count(*) as rotating_imeis
    from (select partition_hour, box, imei from member_calls group by all having count(distinct imsi) >= 2)
    group by all
),
box_received as (
    -- answered calls received by members, from inside and from outside the group
    select g.partition_hour, g.box,
        sum(r.answered) filter (where b.a_number is not null) as received_from_members,
        sum(r.answered) filter (where b.a_number is null) as received_from_outside
    from grouped g
    join received r using (partition_hour, a_number)
    left join grouped b on b.partition_hour = g.partition_hour and b.box = g.box and b.a_number = r.caller
    group by all
),
profiles as (
    select x.*, coalesce(v.rotating_imeis, 0) as rotating_imeis,
        coalesce(r.received_from_members, 0) as received_from_members,
        coalesce(r.received_from_outside, 0) as received_from_outside,
        round(coalesce(r.received_from_outside, 0) / x.calls, 4) as outside_ratio,
        round(x.distinct_destinations / greatest(x.calls - x.calls_to_members, 1), 4) as fresh_ratio,
        round(x.night_calls / x.calls, 4) as night_share,
        round(coalesce(g.calls_together, 0) / x.calls, 4) as together_share
    from boxes x
    left join together g using (partition_hour, box)
    left join rotating v using (partition_hour, box)
    left join box_received r using (partition_hour, box)
    where x.active_in_hour
),
signals as (
    select *,
        (tacs = 1)::int + (rotating_imeis > 0)::int + (fresh_ratio >= {p.min_fresh_ratio})::int
          + (night_share >= {p.min_night_share})::int as supporting_signals
    from profiles
)
{detection_rows(
    subject_type="box", subject="box", lookback_hours=L,
    severity=[("members >= 8 or supporting_signals >= 3", "CRITICAL"), ("supporting_signals = 2", "HIGH"),
              ("supporting_signals = 1", "MEDIUM")],
    score="0.5 + 0.1 * supporting_signals + 0.1 * (members >= 8)::int",
    evidence=("members", "msisdns", "imsis", "imei_list", "cells", "calls", "calls_to_members",
              "distinct_destinations", "received_from_members", "received_from_outside", "tacs", "imeis",
              "rotating_imeis", "distinct_cells", "supporting_signals"),
    source="signals",
    rule=[("min_members", "members", ">=", p.min_members),
          ("closed_circle", "outside_ratio", "<=", p.max_outside_ratio),
          ("moves_together", "together_share", ">=", p.min_together_share)],
    signals=[("one_model", "tacs", "<=", 1),
             ("rotation", "rotating_imeis", ">=", 1),
             ("fresh_destinations", "fresh_ratio", ">=", p.min_fresh_ratio),
             ("night_activity", "night_share", ">=", p.min_night_share)],
)}
"""


SPEC = DetectorSpec("simbox_cohort", SimboxCohortParams, detect_sql, subject_types=("box",),
                    summary_columns=("members", "calls", "received_from_members", "received_from_outside",
                                     "supporting_signals"),
                    fraud_types=("simbox_mimic", "simbox_sdhf", "simbox_stealth"))

"""simbox_profile: the behaviour of a SIM-box SIM (and of the box's handset), over 24 h.

A SIM box re-originates bypassed international calls through local SIMs. Whatever its call durations or
volumes, each SIM shows the same physical facts: it only *makes* calls (nobody knows its number, so it
receives almost none), it sits in one place (one cell), it reaches a fresh destination with nearly every
call (it carries other people's traffic, not its owner's social circle), and the box's modules often host
several SIMs in one handset identity (IMEI). Ordinary heavy users make as many calls but receive calls
back, move between cells and call the same people again.

Rule, for an own subscriber (voice ``MOC`` records with an IMSI; voice ``MTC`` for calls received) over the
24 h window:

- gate: at least ``min_distinct_destinations`` distinct numbers called (enough calls to judge a profile);
- required: ``no_incoming`` — received calls (``MTC``) at most ``max_incoming_ratio`` x calls made;
- and at least ``min_supporting_signals`` of: ``fixed_location`` (distinct cells <= ``max_cells``),
  ``fresh_destinations`` (distinct / calls >= ``min_fresh_ratio``), ``shared_imei`` (its IMEI carried
  >= ``min_imsis_per_imei`` IMSIs in the window: more SIMs than a dual-SIM phone holds).

- required: ``closed_site`` — where at least ``min_site_sims`` busy SIMs call from one of the SIM's sites
  (handset model, i.e. IMEI TAC, and cell), their answered calls received from numbers that do not call
  from the site are at most ``max_site_outside_ratio`` x their calls: a sales team's lines look like a
  box's SIMs one by one, but as an office their prospects call back.

``night_activity`` (share of calls 00-06 local >= ``min_night_share``) and ``short_calls`` (average
duration <= ``max_avg_duration_s``) only add to the score. A handset (``imei`` subject) is reported when it
carried >= ``min_imsis_per_imei`` IMSIs that together pass the gate and ``no_incoming``; its evidence lists
its SIMs.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import covered_targets_sql, detection_rows, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings


class SimboxProfileParams(DetectorParams):
    min_distinct_destinations: int = 12
    max_incoming_ratio: float = 0.05
    max_cells: int = 1
    min_fresh_ratio: float = 0.9
    min_imsis_per_imei: int = 3
    min_supporting_signals: int = 2
    min_night_share: float = 0.2
    max_avg_duration_s: float = 10.0
    # "Receives almost no calls" means nothing over a window that holds an hour or two of data: the
    # network's traffic must cover most of the window before a profile is judged (cold start, outages).
    min_hours_with_data: int = 12
    # Sites (TAC + cell) with this many busy SIMs are judged as a whole: a sales team's lines look like a
    # box's SIMs one by one, but their prospects call back.
    min_site_sims: int = 3
    max_site_outside_ratio: float = 0.01
    lookback_hours: ClassVar[int] = 23  # a day: the hour and the 23 before it


def detect_sql(p: SimboxProfileParams, settings: Settings) -> str:
    L = p.lookback_hours
    tz = literal(settings.partition_timezone)
    return f"""
with own_calls as (
    -- voice calls made by own SIMs (MOC with an IMSI); texts are sms_simfarm's
    select a_number, b_number, imsi, imei, left(imei, 8) as tac, cell_id, duration_s, seizure_time, hour,
           hour(timezone({tz}, seizure_time)) < 6 as at_night
    from cdrs
    where record_type = 'MOC' and service = 'voice' and imsi is not null
),
activity as (
    -- calls made and received per number and hour (additive, so the 24 h sums are cheap)
    select coalesce(m.a_number, r.a_number) as a_number, coalesce(m.hour, r.hour) as hour,
           coalesce(m.calls, 0) as calls, coalesce(r.received, 0) as received
    from (select a_number, hour, count(*) as calls from own_calls group by all) m
    full join (select b_number as a_number, hour, count(*) as received
               from cdrs where record_type = 'MTC' and service = 'voice' group by all) r
      using (a_number, hour)
),
rolling as (
    select a_number, hour, calls as calls_in_hour,
        sum(calls) over past_day as calls_24h,
        sum(received) over past_day as received_24h
    from activity
    window past_day as (partition by a_number order by hour
                        range between interval {L} hours preceding and current row)
),
covered_targets as ({covered_targets_sql(L, p.min_hours_with_data)}),
candidates as (
    -- SIMs active in a target hour that pass the volume gate and make (almost) no incoming calls:
    -- the only ones worth the distinct counts below
    select t.hour as partition_hour, r.a_number, r.received_24h as received_calls
    from rolling r join covered_targets t on r.hour = t.hour
    where r.calls_in_hour > 0
      and r.calls_24h >= {p.min_distinct_destinations}
      and r.received_24h <= {p.max_incoming_ratio} * r.calls_24h
),
multi_sim_imeis as (
    -- handsets seen with several IMSIs anywhere in the data read: a superset of every window's
    select imei from (select distinct imei, imsi from own_calls where imei is not null)
    group by imei having count(*) >= 2
),
imei_sims as (
    select t.hour as partition_hour, c.imei, count(distinct c.imsi) as imsis
    from own_calls c join targets t on {in_lookback(L)}
    where c.imei in (select imei from multi_sim_imeis)
    group by all
),
sims as (
    select k.partition_hour, k.a_number, any_value(k.received_calls) as received_calls,
        count(*) as calls,
        count(distinct c.b_number) as distinct_destinations,
        count(distinct c.cell_id) as distinct_cells,
        count(*) filter (where c.at_night) as night_calls,
        round(avg(c.duration_s), 2) as avg_duration_s,
        max(coalesce(i.imsis, 1)) as max_imsis_per_imei,
        list(distinct c.imei order by c.imei) filter (where i.imsis >= {p.min_imsis_per_imei}) as shared_imeis,
        min(c.seizure_time) as first_seen,
        max(c.seizure_time) as last_seen
    from candidates k
    join own_calls c
      on c.a_number = k.a_number
     and c.hour between k.partition_hour - interval {L} hours and k.partition_hour
    left join imei_sims i on i.partition_hour = k.partition_hour and i.imei = c.imei
    group by all
),
sim_profiles as (
    select *,
        round(received_calls / calls, 4) as incoming_ratio,
        round(distinct_destinations / calls, 4) as fresh_ratio,
        round(night_calls / calls, 4) as night_share
    from sims
    where distinct_destinations >= {p.min_distinct_destinations}
),
sim_signals as (
    select *,
        incoming_ratio <= {p.max_incoming_ratio} as no_incoming,
        (distinct_cells <= {p.max_cells})::int
          + (fresh_ratio >= {p.min_fresh_ratio})::int
          + (max_imsis_per_imei >= {p.min_imsis_per_imei})::int as supporting_signals,
        (night_share >= {p.min_night_share})::int
          + (avg_duration_s <= {p.max_avg_duration_s})::int as minor_signals,
        {literal(p.min_supporting_signals)} as min_supporting_signals
    from sim_profiles
),
suspect_sites as (
    -- where the SIMs with a box profile called from: handset model (TAC) and cell
    select distinct s.partition_hour, s.a_number, c.tac, c.cell_id
    from sim_signals s
    join own_calls c
      on c.a_number = s.a_number
     and c.hour between s.partition_hour - interval {L} hours and s.partition_hour
    where s.no_incoming and s.supporting_signals >= {literal(p.min_supporting_signals)}
      and c.imei is not null and c.cell_id is not null
),
site_mates as (
    -- the busy SIMs calling from the same sites (the suspect included): its box, or its office
    select k.partition_hour, k.a_number, c.a_number as mate
    from suspect_sites k
    join own_calls c
      on c.tac = k.tac and c.cell_id = k.cell_id
     and c.hour between k.partition_hour - interval {L} hours and k.partition_hour
    group by all
    having count(*) >= {p.min_distinct_destinations}
),
site_received as (
    -- answered calls the site's SIMs received from numbers not calling from the site
    select m.partition_hour, m.a_number,
        count(distinct m.mate) as site_sims,
        count(r.b_number) filter (where r.duration_s > 0 and r.a_number not in
            (select x.mate from site_mates x where x.partition_hour = m.partition_hour and x.a_number = m.a_number))
            as site_outside_received
    from site_mates m
    left join cdrs r
      on r.b_number = m.mate and r.record_type = 'MTC' and r.service = 'voice'
     and r.hour between m.partition_hour - interval {L} hours and m.partition_hour
    group by all
),
site_calls as (
    select m.partition_hour, m.a_number, count(*) as site_calls
    from site_mates m
    join own_calls c
      on c.a_number = m.mate and c.hour between m.partition_hour - interval {L} hours and m.partition_hour
    group by all
),
judged_sims as (
    -- a SIM with a box profile among SIMs that talk to the outside world is an office's, not a box's
    select s.*, coalesce(r.site_sims, 1) as site_sims,
        coalesce(r.site_outside_received, 0) as site_outside_received,
        case when coalesce(r.site_sims, 1) >= {p.min_site_sims}
             then round(r.site_outside_received / c.site_calls, 4) else 0 end as site_outside_ratio
    from sim_signals s
    left join site_received r using (partition_hour, a_number)
    left join site_calls c using (partition_hour, a_number)
),
imeis as (
    -- per handset carrying several SIMs: the SIMs' calls together
    select i.partition_hour, i.imei, i.imsis,
        count(*) as calls,
        count(distinct c.b_number) as distinct_destinations,
        count(distinct c.cell_id) as distinct_cells,
        list(distinct c.a_number order by c.a_number) as msisdns,
        bool_or(c.hour = i.partition_hour) as active_in_hour,
        min(c.seizure_time) as first_seen,
        max(c.seizure_time) as last_seen
    from imei_sims i
    join own_calls c
      on c.imei = i.imei
     and c.hour between i.partition_hour - interval {L} hours and i.partition_hour
    where i.imsis >= {p.min_imsis_per_imei}
    group by all
),
imei_received as (
    -- calls received by the SIMs of each handset in its window (activity is per number and hour)
    select i.partition_hour, i.imei, sum(a.received) as received_calls
    from (select partition_hour, imei, unnest(msisdns) as a_number from imeis) i
    join activity a
      on a.a_number = i.a_number
     and a.hour between i.partition_hour - interval {L} hours and i.partition_hour
    group by all
),
imei_profiles as (
    select i.*, coalesce(r.received_calls, 0) as received_calls
    from imeis i left join imei_received r using (partition_hour, imei)
    where i.active_in_hour and i.distinct_destinations >= {p.min_distinct_destinations}
)
{detection_rows(
    subject_type="msisdn", subject="a_number", lookback_hours=L,
    severity=[("supporting_signals = 3", "CRITICAL"), ("supporting_signals = 2 and minor_signals >= 1", "HIGH"),
              ("supporting_signals = 2", "MEDIUM")],
    score="least(1.0, 0.4 + 0.15 * supporting_signals + 0.075 * minor_signals)",
    evidence=("calls", "distinct_destinations", "received_calls", "distinct_cells", "shared_imeis",
              "avg_duration_s", "supporting_signals", "min_supporting_signals", "site_sims", "site_outside_received"),
    source="judged_sims",
    rule=[("min_distinct_destinations", "distinct_destinations", ">=", p.min_distinct_destinations),
          ("no_incoming", "incoming_ratio", "<=", p.max_incoming_ratio),
          ("closed_site", "site_outside_ratio", "<=", p.max_site_outside_ratio)],
    signals=[("fixed_location", "distinct_cells", "<=", p.max_cells),
             ("fresh_destinations", "fresh_ratio", ">=", p.min_fresh_ratio),
             ("shared_imei", "max_imsis_per_imei", ">=", p.min_imsis_per_imei),
             ("night_activity", "night_share", ">=", p.min_night_share),
             ("short_calls", "avg_duration_s", "<=", p.max_avg_duration_s)],
    where=f"supporting_signals >= {literal(p.min_supporting_signals)}",
)}
union all
{detection_rows(
    subject_type="imei", subject="imei", lookback_hours=L,
    severity=[(f"imsis >= 2 * {literal(p.min_imsis_per_imei)}", "CRITICAL"), ("true", "HIGH")],
    score="least(1.0, 0.7 + 0.05 * imsis)",
    evidence=("imsis", "msisdns", "calls", "distinct_destinations", "received_calls", "distinct_cells"),
    source="(select *, round(received_calls / calls, 4) as incoming_ratio from imei_profiles)",
    rule=[("shared_imei", "imsis", ">=", p.min_imsis_per_imei),
          ("min_distinct_destinations", "distinct_destinations", ">=", p.min_distinct_destinations),
          ("no_incoming", "incoming_ratio", "<=", p.max_incoming_ratio)],
    signals=[("fixed_location", "distinct_cells", "<=", p.max_cells)],
)}
"""


SPEC = DetectorSpec("simbox_profile", SimboxProfileParams, detect_sql, subject_types=("msisdn", "imei"),
                    summary_columns=("calls", "distinct_destinations", "received_calls", "distinct_cells",
                                     "supporting_signals"),
                    fraud_types=("simbox_sdhf", "simbox_stealth", "simbox_mimic"))

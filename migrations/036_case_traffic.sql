-- What a case's fraud carried and cost, and how long it ran before Sentinel saw it.
--   sentinel.case_traffic: per case and hour, the calls of its subjects within the periods of its alerts,
--     read from the lake by the alerts asset (sentinel_pipeline/case_traffic.py), and their estimated
--     loss: minutes x (international rate - local rate) from reference/rates.csv. An ESTIMATE: the rates
--     are a reference table, not the bills; the minutes are the talk time the switches recorded.
--   sentinel.alerts.first_activity: the earliest record of the alert's subject the pipeline has read
--     (the hours it detected in and the 23 before them), for the time to detect;
--   sentinel.alerts.cell_id: the one cell a number's calls came from, when they all came from one, which
--     links the SIMs of a box that have no handset in common (one IMEI per SIM) into one case.
-- docs/analysts.md, "Loss and time to detect".

create table sentinel.case_traffic (
    case_id           bigint           not null references sentinel.cases (case_id),
    hour              timestamptz      not null,
    calls             bigint           not null,
    minutes           double precision not null,
    masked_calls      bigint           not null,  -- trunk cases: calls from abroad with a valid home CLI
    invalid_cli_calls bigint           not null,  -- trunk cases: calls with a CLI that is no valid number
    estimated_loss    double precision,           -- null without rates.csv
    currency          text,
    rates_version     text,
    computed_at       timestamptz      not null default now(),
    primary key (case_id, hour)
);
create index case_traffic_hour on sentinel.case_traffic (hour);

alter table sentinel.alerts add column first_activity timestamptz,
                            add column cell_id text;

-- The links of migration 033, and one more: SIM-box-like numbers (an sdhf or simbox_profile alert) that
-- made all of their calls from one cell link with the others in that cell whose alerts began that day.
create or replace view sentinel.alert_links as
select alert_id, subject_type || ':' || subject as link
from sentinel.alerts
union
select a.alert_id, 'msisdn:' || m
from sentinel.alerts a,
     jsonb_array_elements_text(case when jsonb_typeof(a.evidence -> 'msisdns') = 'array'
                                    then a.evidence -> 'msisdns' else '[]' end) m
union
select a.alert_id, 'imei:' || i
from sentinel.alerts a,
     jsonb_array_elements_text(case when jsonb_typeof(a.evidence -> 'shared_imeis') = 'array'
                                    then a.evidence -> 'shared_imeis' else '[]' end
                               || case when jsonb_typeof(a.evidence -> 'imeis') = 'array'
                                       then a.evidence -> 'imeis' else '[]' end) i
union
select alert_id, 'case:' || case_id from sentinel.alerts where case_id is not null
union
select alert_id, 'case:' || (evidence ->> 'case_id') from sentinel.alerts where evidence ->> 'case_id' is not null
union
select alert_id, 'cell:' || cell_id || ':' || (first_seen at time zone 'UTC')::date
from sentinel.alerts
where cell_id is not null and subject_type = 'msisdn' and detector in ('sdhf', 'simbox_profile');

-- When an unworked case is merged into another (migration 033), its hours go with it.
create function sentinel.case_traffic_merged() returns trigger
language plpgsql as $$
begin
    insert into sentinel.case_traffic as t (case_id, hour, calls, minutes, masked_calls, invalid_cli_calls,
                                            estimated_loss, currency, rates_version)
    select new.merged_into, hour, calls, minutes, masked_calls, invalid_cli_calls, estimated_loss, currency,
           rates_version
    from sentinel.case_traffic where case_id = new.case_id
    on conflict (case_id, hour) do update
       set calls = t.calls + excluded.calls, minutes = t.minutes + excluded.minutes,
           masked_calls = t.masked_calls + excluded.masked_calls,
           invalid_cli_calls = t.invalid_cli_calls + excluded.invalid_cli_calls,
           estimated_loss = t.estimated_loss + excluded.estimated_loss;
    delete from sentinel.case_traffic where case_id = new.case_id;
    return null;
end
$$;
create trigger case_traffic_merged after update of merged_into on sentinel.cases
    for each row when (new.merged_into is not null) execute function sentinel.case_traffic_merged();

-- Per case: its traffic and estimated loss over its whole life.
create view sentinel.case_losses as
select c.case_id, c.kind, c.label, c.status,
       coalesce(sum(t.calls), 0)             as calls,
       coalesce(round(sum(t.minutes)::numeric, 1), 0) as minutes,
       coalesce(sum(t.masked_calls), 0)      as masked_calls,
       coalesce(sum(t.invalid_cli_calls), 0) as invalid_cli_calls,
       round(sum(t.estimated_loss)::numeric, 2) as estimated_loss,
       max(t.currency)                       as currency
from sentinel.cases c
left join sentinel.case_traffic t on t.case_id = c.case_id
where c.merged_into is null
group by c.case_id;

-- Per alert: how long its subject was active before Sentinel saw it.
--   first_activity      the subject's earliest record read (else the alert's first_seen);
--   first_detected_end  the end of the earliest partition hour that detected it: in event time, when
--                       the pipeline had the data to raise it;
--   detection_delay     first_detected_end - first_activity: the time to detect in event time, the same
--                       for a back-fill as for live data;
--   time_to_detect      detected_at - first_activity: wall time, meaningful for live data (a back-fill of
--                       old hours makes it as old as the hours).
create view sentinel.time_to_detect as
select a.alert_id, a.case_id, a.detector, a.subject_type, a.subject, a.severity,
       least(coalesce(a.first_activity, a.first_seen), a.first_seen)                         as first_activity,
       d.first_detected_end,
       d.first_detected_end - least(coalesce(a.first_activity, a.first_seen), a.first_seen) as detection_delay,
       a.detected_at,
       a.detected_at - least(coalesce(a.first_activity, a.first_seen), a.first_seen)        as time_to_detect
from sentinel.alerts a
join lateral (
    select min(partition_hour) + interval '1 hour' as first_detected_end
    from sentinel.detections x
    where (x.detector, x.subject_type, x.subject) = (a.detector, a.subject_type, a.subject)
) d on true;

-- The case overview with its losses, for BI tools.
create or replace view sentinel.case_overview as
select c.case_id, c.kind, c.label, c.status, c.priority, c.assignee, c.severity, c.score, c.alert_count,
       m.msisdns, m.imeis, m.trunks, m.open_alerts, c.detectors, c.first_seen, c.last_seen, c.opened_at,
       c.reviewed, c.reviewed_by, c.reviewed_at, c.notes, c.last_event, c.last_event_at, c.updated_at,
       l.calls, l.minutes, l.estimated_loss, l.currency
from sentinel.cases c
left join lateral (
    select count(distinct l.link) filter (where l.link like 'msisdn:%') as msisdns,
           count(distinct l.link) filter (where l.link like 'imei:%')   as imeis,
           count(distinct l.link) filter (where l.link like 'trunk:%')  as trunks,
           (select count(*) from sentinel.alerts o
             where o.case_id = c.case_id and o.status in ('open', 'investigating')) as open_alerts
    from sentinel.alerts a join sentinel.alert_links l on l.alert_id = a.alert_id
    where a.case_id = c.case_id
) m on true
left join sentinel.case_losses l on l.case_id = c.case_id
where c.merged_into is null;

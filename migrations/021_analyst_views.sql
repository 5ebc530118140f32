-- Views for the questions analysts ask every day. Plain SQL over sentinel.alerts; days are UTC days.
-- Documented in docs/analysts.md.

-- Cases still to be worked (open or investigating), per severity.
create view sentinel.open_alerts_by_severity as
select severity,
       count(*)                                           as open_alerts,
       count(*) filter (where status = 'open')            as open,
       count(*) filter (where status = 'investigating')   as investigating,
       count(*) filter (where not reviewed)               as unreviewed,
       min(first_seen)                                    as oldest_first_seen,
       max(last_seen)                                     as newest_last_seen
from sentinel.alerts
where status in ('open', 'investigating')
group by severity
order by severity desc;

-- How many cases each detector opened per day (the UTC day of the case's first_seen, i.e. event time,
-- so that a back-fill counts its alerts on the days the calls happened), and what became of them.
create view sentinel.daily_alert_counts as
select (first_seen at time zone 'UTC')::date                 as day,
       detector,
       count(*)                                            as alerts,
       count(*) filter (where severity = 'CRITICAL')       as critical,
       count(*) filter (where severity = 'HIGH')           as high,
       count(*) filter (where severity = 'MEDIUM')         as medium,
       count(*) filter (where severity = 'LOW')            as low,
       count(*) filter (where status in ('open', 'investigating')) as still_open,
       count(*) filter (where status = 'confirmed')        as confirmed,
       count(*) filter (where status = 'false_positive')   as false_positive,
       count(*) filter (where status = 'closed')           as closed
from sentinel.alerts
group by 1, 2
order by 1 desc, 2;

-- Subjects (numbers, trunks, handsets) across detectors, most alarming first.
create view sentinel.top_subjects as
select subject_type,
       subject,
       count(*)                                            as alerts,
       array_agg(detector order by detector)               as detectors,
       max(severity)                                       as max_severity,
       max(score)                                          as max_score,
       sum(coalesce((evidence ->> 'detections')::int, 1))  as detections,
       min(first_seen)                                     as first_seen,
       max(last_seen)                                      as last_seen,
       count(*) filter (where status in ('open', 'investigating')) as open_alerts,
       bool_or(status = 'confirmed')                       as any_confirmed
from sentinel.alerts
group by subject_type, subject
order by max(severity) desc, count(*) desc, max(score) desc, subject;

-- Every case with the evidence keys most detectors share pulled out as columns (the full evidence is
-- in the evidence column) and whether the subject is whitelisted.
create view sentinel.alerts_with_evidence as
select a.alert_id,
       a.detector,
       a.subject_type,
       a.subject,
       a.severity,
       a.score,
       a.status,
       a.reviewed,
       a.reviewer_notes,
       a.reviewed_by,
       a.reviewed_at,
       a.first_seen,
       a.last_seen,
       a.detected_at,
       a.last_event,
       a.last_event_at,
       (a.evidence ->> 'detections')::int                  as detections,
       (a.evidence ->> 'partition_hour')::timestamptz      as strongest_hour,
       (a.evidence ->> 'window_start')::timestamptz        as window_start,
       (a.evidence ->> 'window_end')::timestamptz          as window_end,
       (a.evidence ->> 'calls')::numeric                   as calls,
       (a.evidence ->> 'distinct_destinations')::numeric   as distinct_destinations,
       (a.evidence ->> 'avg_duration_s')::double precision as avg_duration_s,
       s.suppression_id is not null                        as suppressed,
       a.evidence
from sentinel.alerts a
left join sentinel.suppressions s
       on s.detector = a.detector and s.subject_type = a.subject_type and s.subject = a.subject
      and s.lifted_at is null;

-- The whitelist entries in force.
create view sentinel.active_suppressions as
select suppression_id, detector, subject_type, subject, alert_id, reason, created_by, created_at
from sentinel.suppressions
where lifted_at is null;

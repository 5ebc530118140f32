-- A box-level alert (subject_type 'box', e.g. simbox_cohort) names a group of SIMs; its evidence lists the
-- member SIMs (msisdns) and handsets (imei_list). This view links each member to the box's case and to
-- the member's own cases from other detectors (simbox_profile, sdhf, ...), so an analyst opening a box
-- sees every alert on its SIMs and handsets, and one opening a SIM's alert finds the box it belongs to.
-- Documented in docs/analysts.md ("Boxes and their members").
create view sentinel.box_members as
select b.alert_id        as box_alert_id,
       b.detector        as box_detector,
       b.subject         as box,
       m.subject_type    as member_type,
       m.subject         as member,
       a.alert_id        as member_alert_id,
       a.detector        as member_detector,
       a.severity        as member_severity,
       a.status          as member_status
from sentinel.alerts b
cross join lateral (
    select 'msisdn' as subject_type, value as subject from jsonb_array_elements_text(b.evidence -> 'msisdns')
    union all
    select 'imei', value from jsonb_array_elements_text(b.evidence -> 'imei_list')
) m
left join sentinel.alerts a
       on a.subject_type = m.subject_type and a.subject = m.subject and a.alert_id <> b.alert_id
where b.subject_type = 'box';

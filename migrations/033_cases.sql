-- Cases: the unit an analyst works. Alerts that belong together (the SIMs and the handset of one SIM box,
-- the detectors that flagged one trunk, every detector's alert on one number) share one case.
-- docs/analysts.md, "Cases", explains them as analysts see them.
--
-- Who owns what: the pipeline owns a case's facts (kind .. detectors, computed from its alerts by
-- sentinel.refresh_cases below); analysts own status, priority, assignee, notes and reviewed. Every change
-- of those, and every alert joining a case, is written to sentinel.case_history by triggers, whoever made
-- it (the CLI, psql, a BI tool) and whatever grants they have.

create table sentinel.cases (
    case_id       bigserial primary key,
    kind          text              not null check (kind in ('simbox', 'trunk', 'number')),
    label         text              not null,  -- the subject the case is named after, e.g. 'imei 3585...'
    severity      sentinel.severity not null,  -- the worst of its alerts
    score         double precision  not null check (score between 0 and 1),
    first_seen    timestamptz       not null,
    last_seen     timestamptz       not null,
    alert_count   integer           not null,
    detectors     text[]            not null,
    opened_at     timestamptz       not null default now(),
    status        text              not null default 'open'
                  check (status in ('open', 'investigating', 'confirmed', 'false_positive', 'closed')),
    priority      smallint          not null check (priority between 1 and 4),  -- 1 = most urgent; follows
                                    -- the severity (CRITICAL 1 .. LOW 4) until an analyst changes the case
    assignee      text,
    notes         text,
    reviewed      boolean           not null default false,
    reviewed_by   text,
    reviewed_at   timestamptz,
    updated_at    timestamptz       not null default now(),
    last_event    text check (last_event in ('new', 'escalated', 'reopened')),
    last_event_at timestamptz,
    merged_into   bigint references sentinel.cases (case_id)  -- set when this unworked case was merged
);
create index cases_active on sentinel.cases (priority, severity desc)
    where status in ('open', 'investigating') and merged_into is null;

alter table sentinel.alerts add column case_id bigint references sentinel.cases (case_id);
create index alerts_case on sentinel.alerts (case_id);

-- The audit trail: one row per changed field of a case, and one per alert joining a case.
create table sentinel.case_history (
    change_id  bigint generated always as identity primary key,
    case_id    bigint      not null references sentinel.cases (case_id),
    changed_at timestamptz not null default now(),
    changed_by text        not null,
    actor      text        not null check (actor in ('analyst', 'pipeline')),
    field      text        not null,  -- status, priority, assignee, notes, reviewed, created, alert_added
    old_value  text,
    new_value  text
);
create index case_history_case on sentinel.case_history (case_id, changed_at);

-- What links alerts into one case: two alerts that share a link are in the same case. One row per alert
-- and link ('msisdn:+234...', 'imei:3585...', 'trunk:INT_FRA01', 'case:42'):
--   its own subject;
--   the SIMs a handset alert lists (evidence 'msisdns') and the shared handsets a SIM's alert lists
--   (evidence 'shared_imeis', 'imeis'): the SIMs and IMEIs of one box;
--   the case the alert already belongs to, and a case its evidence names ('case_id': a hotlist hit
--   joins the case that put the subject on the hotlist).
-- A detector whose evidence groups subjects (a box-level detector: subject_type 'box', evidence
-- 'msisdns' / 'imeis') joins its members' case through these same keys; a new kind of link is one more
-- branch here (create or replace view in a later migration).
create view sentinel.alert_links as
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
select alert_id, 'case:' || (evidence ->> 'case_id') from sentinel.alerts where evidence ->> 'case_id' is not null;

-- The facts of the case made of these alerts.
create function sentinel.case_facts(alert_ids bigint[])
returns table (kind text, label text, severity sentinel.severity, score double precision, first_seen timestamptz,
               last_seen timestamptz, alert_count integer, detectors text[], all_false_positive boolean,
               last_alert_event timestamptz)
language sql stable as $$
    select case when bool_or(subject_type in ('box', 'imei')) or bool_or(detector = 'simbox_profile') then 'simbox'
                when bool_or(subject_type = 'trunk') then 'trunk'
                else 'number' end,
           -- named after its box or handset, else its trunk, else its strongest alert's subject
           (array_agg(subject_type || ' ' || subject
                      order by subject_type in ('box', 'imei') desc, subject_type = 'trunk' desc, score desc, alert_id))[1],
           max(severity), max(score), min(first_seen), max(last_seen), count(*)::int,
           array_agg(distinct detector order by detector),
           bool_and(status = 'false_positive'),
           max(last_event_at) filter (where last_event is not null and status <> 'false_positive')
    from sentinel.alerts
    where alert_id = any(alert_ids)
$$;

-- Puts every alert without a case into one, and brings the facts of the cases whose alerts changed in
-- this transaction up to date (all cases with all_cases => true). The pipeline calls it in the
-- transaction that refreshes alerts (sentinel_pipeline/store.py), so no committed alert is without a
-- case; by hand: `select * from sentinel.refresh_cases(true);`.
--
-- Grouping: alerts linked through sentinel.alert_links, directly or through other alerts, form a group;
-- a group's alerts go to its oldest *worked* case (one an analyst has changed: reviewed_by is set), else
-- to its oldest case, else to one new case. A case nobody has worked yet is merged into that case when a
-- new link joins them (its alerts move; the row stays, with merged_into, so its number still leads
-- somewhere): the SIMs that SDHF flags in one hour and the handset simbox_profile names later become one
-- case. An alert in a worked case never moves, and two worked cases are never merged: what analysts wrote
-- stays where it is. Re-running or back-filling hours updates the same alerts, so it keeps the cases.
--
-- Lifecycle at case level (the alert lifecycle, docs/analysts.md), recorded in last_event:
--   new        a case made here (status false_positive when all of its alerts are);
--   reopened   a closed or false_positive case one of whose alerts was new, reopened or escalated after
--              the case was last reviewed or changed: status open, reviewed false;
--   escalated  an open, investigating or confirmed case whose severity rose, or a confirmed case with
--              such an alert event (a new SIM of a box already confirmed): reviewed false, status kept.
create function sentinel.refresh_cases(all_cases boolean default false)
returns table (new_cases bigint, updated_cases bigint)
language plpgsql as $$
declare
    last_case bigint := (select coalesce(max(case_id), 0) from sentinel.cases);
    moved_to bigint[];
    changed bigint;
begin
    with recursive
    links as materialized (select alert_id, link from sentinel.alert_links),
    reach (start_id, alert_id) as (
        -- every alert linked to an alert that is new or changed in this transaction
        select alert_id, alert_id from sentinel.alerts
        where case_id is null or all_cases or updated_at = now()
        union
        select r.start_id, l2.alert_id
        from reach r
        join links l1 on l1.alert_id = r.alert_id
        join links l2 on l2.link = l1.link
    ),
    members as (
        -- each group, named by its smallest alert_id, and its alerts
        select distinct min(alert_id) over (partition by start_id) as grp, alert_id from reach
    ),
    targets as (
        select m.grp, coalesce(min(c.case_id) filter (where c.reviewed_by is not null), min(c.case_id)) as case_id
        from members m
        join sentinel.alerts a on a.alert_id = m.alert_id
        left join sentinel.cases c on c.case_id = a.case_id
        group by m.grp
    ),
    fresh as (
        -- numbered in the order of their alerts
        select grp, nextval(pg_get_serial_sequence('sentinel.cases', 'case_id')) as case_id
        from (select grp from targets where case_id is null order by grp) g
    ),
    moves as (
        -- alerts without a case, and those of unworked cases other than their group's
        select a.alert_id, a.case_id as old_case, coalesce(t.case_id, f.case_id) as case_id
        from members m
        join targets t using (grp)
        left join fresh f using (grp)
        join sentinel.alerts a on a.alert_id = m.alert_id
        left join sentinel.cases c on c.case_id = a.case_id
        where a.case_id is null
           or (c.reviewed_by is null and a.case_id <> coalesce(t.case_id, f.case_id))
    ),
    inserted as (
        insert into sentinel.cases (case_id, kind, label, severity, score, first_seen, last_seen, alert_count,
                                    detectors, priority, status, last_event, last_event_at)
        select f.case_id, x.kind, x.label, x.severity, x.score, x.first_seen, x.last_seen, x.alert_count,
               x.detectors,
               5 - array_position(enum_range(null::sentinel.severity), x.severity),  -- CRITICAL 1 .. LOW 4
               case when x.all_false_positive then 'false_positive' else 'open' end,
               'new', now()
        from fresh f,
             lateral sentinel.case_facts(array(select v.alert_id from moves v where v.case_id = f.case_id)) x
        returning case_id
    ),
    merged as (
        update sentinel.cases c
           set merged_into = v.case_id, updated_at = now()
          from (select distinct old_case, case_id from moves where old_case is not null) v
         where c.case_id = v.old_case
        returning c.case_id
    ),
    moved as (
        update sentinel.alerts a
           set case_id = v.case_id
          from moves v
         where a.alert_id = v.alert_id
        returning a.case_id
    )
    select array_agg(distinct case_id) into moved_to from moved;

    with touched as (
        select distinct case_id from sentinel.alerts
        where case_id <= last_case and (all_cases or updated_at = now() or case_id = any(moved_to))
    ),
    facts as (
        select t.case_id, x.*
        from touched t,
             lateral sentinel.case_facts(array(select a.alert_id from sentinel.alerts a where a.case_id = t.case_id)) x
    ),
    judged as (
        select f.*,
               case
                   when c.status in ('closed', 'false_positive') and f.last_alert_event > c.last_change then 'reopened'
                   when c.status in ('open', 'investigating', 'confirmed') and f.severity > c.severity then 'escalated'
                   when c.status = 'confirmed' and f.last_alert_event > c.last_change then 'escalated'
               end as event
        from facts f
        join (select *, greatest(opened_at, reviewed_at, last_event_at) as last_change from sentinel.cases) c
          on c.case_id = f.case_id
    )
    update sentinel.cases c
       set kind = j.kind, label = j.label, severity = j.severity, score = j.score, first_seen = j.first_seen,
           last_seen = j.last_seen, alert_count = j.alert_count, detectors = j.detectors,
           -- the priority follows the severity until an analyst has worked the case
           priority = case when c.reviewed_by is null
                           then 5 - array_position(enum_range(null::sentinel.severity), j.severity)
                           else c.priority end,
           updated_at = now(),
           status = case when j.event = 'reopened' then 'open' else c.status end,
           reviewed = case when j.event is not null then false else c.reviewed end,
           last_event = coalesce(j.event, c.last_event),
           last_event_at = case when j.event is not null then now() else c.last_event_at end
      from judged j
     where c.case_id = j.case_id
       and (j.event is not null
            or (c.kind, c.label, c.severity, c.score, c.first_seen, c.last_seen, c.alert_count, c.detectors)
               is distinct from
               (j.kind, j.label, j.severity, j.score, j.first_seen, j.last_seen, j.alert_count, j.detectors));
    get diagnostics changed = row_count;
    return query select (select count(*) from sentinel.cases where case_id > last_case), changed;
end
$$;

-- Who is changing a case: the pipeline marks its transactions (`sentinel.actor` = 'pipeline'); anyone
-- else is an analyst, named by `sentinel.reviewer` (the CLI sets it) or else by their login.
create function sentinel.case_actor() returns text
language sql stable as $$
    select case when coalesce(current_setting('sentinel.actor', true), '') = 'pipeline' then 'pipeline' else 'analyst' end
$$;

create function sentinel.case_changer() returns text
language sql stable as $$
    select case when sentinel.case_actor() = 'pipeline' then 'pipeline'
                else coalesce(nullif(current_setting('sentinel.reviewer', true), ''), session_user::text) end
$$;

-- Before an update: an analyst's change is stamped (reviewed_by, reviewed_at, updated_at), and every
-- changed triage field is written to the history.
create function sentinel.cases_audit() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    actor text := sentinel.case_actor();
    who   text := sentinel.case_changer();
begin
    if (new.status, new.priority, new.assignee, new.notes, new.reviewed)
       is not distinct from (old.status, old.priority, old.assignee, old.notes, old.reviewed) then
        return new;
    end if;
    if actor = 'analyst' then
        new.reviewed_by := who;
        new.reviewed_at := now();
        new.updated_at := now();
    end if;
    insert into sentinel.case_history (case_id, changed_by, actor, field, old_value, new_value)
    select new.case_id, who, actor, v.field, v.old_value, v.new_value
    from (values ('status', old.status, new.status),
                 ('priority', old.priority::text, new.priority::text),
                 ('assignee', old.assignee, new.assignee),
                 ('notes', old.notes, new.notes),
                 ('reviewed', old.reviewed::text, new.reviewed::text)) v (field, old_value, new_value)
    where v.old_value is distinct from v.new_value;
    return new;
end
$$;
create trigger cases_audit before update on sentinel.cases
    for each row execute function sentinel.cases_audit();

create function sentinel.cases_created() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    insert into sentinel.case_history (case_id, changed_by, actor, field, new_value)
    values (new.case_id, sentinel.case_changer(), sentinel.case_actor(), 'created', new.label);
    return null;
end
$$;
create trigger cases_created after insert on sentinel.cases
    for each row execute function sentinel.cases_created();

create function sentinel.alerts_case_joined() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    insert into sentinel.case_history (case_id, changed_by, actor, field, old_value, new_value)
    values (new.case_id, sentinel.case_changer(), sentinel.case_actor(), 'alert_added', old.case_id::text,
            format('alert %s: %s %s %s', new.alert_id, new.detector, new.subject_type, new.subject));
    return null;
end
$$;
create trigger alerts_case_joined after update of case_id on sentinel.alerts
    for each row when (new.case_id is distinct from old.case_id)
    execute function sentinel.alerts_case_joined();

-- A case merged into one that is itself merged later leads to the survivor.
create function sentinel.cases_merged() returns trigger
language plpgsql as $$
begin
    update sentinel.cases set merged_into = new.merged_into where merged_into = new.case_id;
    return null;
end
$$;
create trigger cases_merged after update of merged_into on sentinel.cases
    for each row when (new.merged_into is not null) execute function sentinel.cases_merged();

-- An analyst's status of a case is the status of each of its alerts (the alert triage trigger then
-- whitelists a false_positive's subjects, or lifts that). The pipeline's own reopening is not passed
-- down: the alerts it comes from have already been reopened.
create function sentinel.cases_status_to_alerts() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if sentinel.case_actor() = 'analyst' then
        update sentinel.alerts
           set status = new.status, reviewed = true
         where case_id = new.case_id and (status, reviewed) is distinct from (new.status, true);
    end if;
    return null;
end
$$;
create trigger cases_status_to_alerts after update of status on sentinel.cases
    for each row when (new.status is distinct from old.status)
    execute function sentinel.cases_status_to_alerts();

-- For BI tools: one row per case with what it is made of, and one row per alert of a case.
create view sentinel.case_overview as
select c.case_id, c.kind, c.label, c.status, c.priority, c.assignee, c.severity, c.score, c.alert_count,
       m.msisdns, m.imeis, m.trunks, m.open_alerts, c.detectors, c.first_seen, c.last_seen, c.opened_at,
       c.reviewed, c.reviewed_by, c.reviewed_at, c.notes, c.last_event, c.last_event_at, c.updated_at
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
where c.merged_into is null;

create view sentinel.case_members as
select a.case_id, a.alert_id, a.detector, a.subject_type, a.subject, a.severity, a.score, a.status, a.reviewed,
       a.first_seen, a.last_seen, a.detected_at
from sentinel.alerts a
where a.case_id is not null;

-- Analysts work cases: status, priority, assignee, notes, reviewed. The history is written by the
-- triggers above (as their owner), never by hand.
grant update (status, priority, assignee, notes, reviewed) on sentinel.cases to sentinel_analyst;
revoke all on function sentinel.refresh_cases(boolean) from public;
grant execute on function sentinel.refresh_cases(boolean) to sentinel_pipeline;
revoke all on function sentinel.cases_audit(), sentinel.cases_created(), sentinel.alerts_case_joined(),
                       sentinel.cases_status_to_alerts() from public;

-- The alerts that exist already get their cases now.
select set_config('sentinel.actor', 'pipeline', true);
select * from sentinel.refresh_cases(true);
select set_config('sentinel.actor', '', true);

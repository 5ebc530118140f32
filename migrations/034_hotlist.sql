-- The hotlist: subjects known to be fraudulent (numbers, IMSIs, IMEIs, handset models by TAC, number
-- ranges). Any activity of an active entry after its `since` raises a `hotlist` alert in the next run
-- (sentinel_pipeline/detectors/hotlist.py), linked to the entry's case. Entries come from confirming a
-- case (every number, IMSI and IMEI of it, by the trigger below) or by hand; removing one keeps the row.
-- docs/analysts.md, "The hotlist".

create table sentinel.hotlist (
    entry_id     bigint generated always as identity primary key,
    subject_type text        not null check (subject_type in ('msisdn', 'imsi', 'imei', 'tac', 'range')),
    value        text        not null,
    case_id      bigint      references sentinel.cases (case_id),  -- the case that put it here, if any
    since        timestamptz not null default now(),  -- event time: activity after this is a hit
    reason       text,
    added_by     text        not null,
    added_at     timestamptz not null default now(),
    removed_by   text,
    removed_at   timestamptz,
    constraint hotlist_msisdn_is_e164 check (subject_type <> 'msisdn' or value ~ '^\+[1-9][0-9]{6,14}$'),
    constraint hotlist_imsi_is_digits check (subject_type <> 'imsi' or value ~ '^[0-9]{6,15}$'),
    constraint hotlist_imei_is_14_to_16_digits check (subject_type <> 'imei' or value ~ '^[0-9]{14,16}$'),
    constraint hotlist_tac_is_8_digits check (subject_type <> 'tac' or value ~ '^[0-9]{8}$'),
    constraint hotlist_range_is_e164_digits check (subject_type <> 'range' or value ~ '^[1-9][0-9]{0,14}$')
);
-- One active entry per subject.
create unique index hotlist_active on sentinel.hotlist (subject_type, value) where removed_at is null;

-- Who added or removed an entry is stamped here, never taken from the client.
create function sentinel.hotlist_stamp() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if tg_op = 'INSERT' then
        new.added_by := sentinel.case_changer();
        new.added_at := now();
    elsif new.removed_at is not null and old.removed_at is null then
        new.removed_by := sentinel.case_changer();
    end if;
    return new;
end
$$;
create trigger hotlist_stamp before insert or update on sentinel.hotlist
    for each row execute function sentinel.hotlist_stamp();

-- The entries in force.
create view sentinel.active_hotlist as
select entry_id, subject_type, value, case_id, since, reason, added_by, added_at
from sentinel.hotlist
where removed_at is null;

-- Confirming a case puts its numbers, IMSIs and IMEIs on the hotlist (activity after the case's
-- last_seen is a hit); marking it false_positive takes its entries off again.
create function sentinel.cases_to_hotlist() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if sentinel.case_actor() <> 'analyst' then
        return null;
    end if;
    if new.status = 'confirmed' then
        insert into sentinel.hotlist (subject_type, value, case_id, since, reason)
        select distinct split_part(l.link, ':', 1), substr(l.link, strpos(l.link, ':') + 1), new.case_id,
               new.last_seen, format('case %s confirmed', new.case_id)
        from sentinel.alerts a join sentinel.alert_links l on l.alert_id = a.alert_id
        where a.case_id = new.case_id and split_part(l.link, ':', 1) in ('msisdn', 'imsi', 'imei')
        on conflict (subject_type, value) where removed_at is null do nothing;
    elsif new.status = 'false_positive' then
        update sentinel.hotlist set removed_at = now()
         where case_id = new.case_id and removed_at is null;
    end if;
    return null;
end
$$;
create trigger cases_to_hotlist after update of status on sentinel.cases
    for each row when (new.status is distinct from old.status and new.status in ('confirmed', 'false_positive'))
    execute function sentinel.cases_to_hotlist();

grant insert (subject_type, value, case_id, since, reason), update (removed_at)
   on sentinel.hotlist to sentinel_analyst;
revoke all on function sentinel.hotlist_stamp(), sentinel.cases_to_hotlist() from public;

-- Actions: what a confirmed case asks of the network (bar these SIMs at the HLR, block this handset at
-- the EIR, this range or CLI pattern at the SBC, raise a ticket with the trunk's partner), with two-person
-- approval. Sentinel never sends anything to a network element: the approved actions are exported
-- (`sentinel actions export`), published on NOTIFY channel sentinel_actions, and listed in views, for the
-- provisioning systems that do. Un-barring is an action too. docs/analysts.md, "Actions".

create table sentinel.actions (
    action_id     bigint generated always as identity primary key,
    case_id       bigint      not null references sentinel.cases (case_id),
    action        text        not null check (action in ('bar', 'unbar', 'block', 'unblock', 'ticket')),
    target_type   text        not null
                  check (target_type in ('msisdn', 'imsi', 'imei', 'tac', 'range', 'cli_pattern', 'trunk')),
    target        text        not null,
    element       text        not null check (element in ('HLR', 'EIR', 'SBC', 'switch', 'partner')),
    reason        text,
    status        text        not null default 'proposed'
                  check (status in ('proposed', 'approved', 'rejected', 'withdrawn')),
    proposed_by   text        not null,
    proposed_at   timestamptz not null default now(),
    decided_by    text,
    decided_at    timestamptz,
    decision_note text,
    constraint actions_decided_by_a_second_person
        check (status not in ('approved', 'rejected') or decided_by is distinct from proposed_by),
    constraint actions_withdrawn_by_the_proposer
        check (status <> 'withdrawn' or decided_by = proposed_by)
);
create index actions_pending on sentinel.actions (proposed_at) where status = 'proposed';
create index actions_target on sentinel.actions (target_type, target);

-- Where an action is carried out when the proposer does not say.
create function sentinel.action_element(target_type text) returns text
language sql immutable as $$
    select case target_type when 'msisdn' then 'HLR' when 'imsi' then 'HLR' when 'imei' then 'EIR'
                            when 'tac' then 'EIR' when 'trunk' then 'partner' else 'SBC' end
$$;

-- Who proposed and who decided are stamped here (the session's sentinel.reviewer, else the login), never
-- taken from the client; a decided action does not change again. Approving one publishes it on
-- sentinel_actions (at commit), and approving an unbar / unblock takes its target off the hotlist.
create function sentinel.actions_stamp() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    who text := sentinel.case_changer();
begin
    if tg_op = 'INSERT' then
        if new.status <> 'proposed' then
            raise exception 'a new action is proposed, not %: a second person approves it', new.status
                using errcode = 'check_violation';
        end if;
        new.proposed_by := who;
        new.proposed_at := now();
        new.element := coalesce(new.element, sentinel.action_element(new.target_type));
        return new;
    end if;
    if old.status <> 'proposed' then
        raise exception 'action % was % by % and cannot change; propose a new action instead',
            old.action_id, old.status, old.decided_by using errcode = 'check_violation';
    end if;
    if new.status <> old.status then
        new.decided_by := who;
        new.decided_at := now();
    end if;
    if new.status = 'approved' then
        if new.action in ('unbar', 'unblock') then
            update sentinel.hotlist set removed_at = now()
             where removed_at is null and (subject_type, value) = (new.target_type, new.target);
        end if;
        perform pg_notify('sentinel_actions', json_build_object(
            'action_id', new.action_id, 'case_id', new.case_id, 'action', new.action,
            'target_type', new.target_type, 'target', new.target, 'element', new.element,
            'reason', new.reason, 'proposed_by', new.proposed_by, 'approved_by', new.decided_by,
            'approved_at', new.decided_at)::text);
    end if;
    return new;
end
$$;
create trigger actions_stamp before insert or update on sentinel.actions
    for each row execute function sentinel.actions_stamp();

-- Confirming a case proposes its actions: bar each of its numbers and IMSIs, block each IMEI, a ticket
-- with the partner of each trunk; a target already barred, or with the same action waiting, is skipped.
-- The analyst who confirms is the proposer; someone else approves.
create function sentinel.cases_propose_actions() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if sentinel.case_actor() <> 'analyst' then
        return null;
    end if;
    insert into sentinel.actions (case_id, action, target_type, target, reason)
    select distinct new.case_id,
           case t.target_type when 'imei' then 'block' when 'trunk' then 'ticket' else 'bar' end,
           t.target_type, t.target, format('case %s confirmed: %s', new.case_id, new.label)
    from (select split_part(l.link, ':', 1) as target_type, substr(l.link, strpos(l.link, ':') + 1) as target
          from sentinel.alerts a join sentinel.alert_links l on l.alert_id = a.alert_id
          where a.case_id = new.case_id) t
    where t.target_type in ('msisdn', 'imsi', 'imei', 'trunk')
      and not exists (select 1 from sentinel.bar_list b where (b.target_type, b.target) = (t.target_type, t.target))
      and not exists (select 1 from sentinel.actions p
                      where p.status = 'proposed' and (p.target_type, p.target) = (t.target_type, t.target))
    order by t.target_type, t.target;
    return null;
end
$$;

-- The approved actions in the order they were approved: what `sentinel actions export` writes.
create view sentinel.approved_actions as
select action_id, case_id, action, target_type, target, element, reason, proposed_by, proposed_at,
       decided_by as approved_by, decided_at as approved_at, decision_note
from sentinel.actions
where status = 'approved';

-- What is barred or blocked now: targets whose latest approved bar/unbar (block/unblock) is a bar (block).
create view sentinel.bar_list as
select target_type, target, element, action, case_id, action_id, approved_by, approved_at as since
from (select a.*, row_number() over (partition by target_type, target order by approved_at desc, action_id desc) as n
      from sentinel.approved_actions a
      where action in ('bar', 'unbar', 'block', 'unblock')) latest
where n = 1 and action in ('bar', 'block');

-- Proposals waiting for a second person.
create view sentinel.pending_actions as
select action_id, case_id, action, target_type, target, element, reason, proposed_by, proposed_at
from sentinel.actions
where status = 'proposed';

create trigger cases_propose_actions after update of status on sentinel.cases
    for each row when (new.status = 'confirmed' and old.status is distinct from 'confirmed')
    execute function sentinel.cases_propose_actions();

grant insert (case_id, action, target_type, target, element, reason), update (status, decision_note)
   on sentinel.actions to sentinel_analyst;
revoke all on function sentinel.actions_stamp(), sentinel.cases_propose_actions() from public;

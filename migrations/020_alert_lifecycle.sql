-- The alert lifecycle: who reviewed a case and when, what the pipeline did to it last, and the
-- analysts' whitelist (suppressions). See docs/analysts.md for the lifecycle as analysts see it.

-- Audit and lifecycle columns on the cases.
--   reviewed_by / reviewed_at: the last analyst change of status, reviewed or reviewer_notes
--                              (stamped by the trigger below, whoever made it: CLI or plain SQL);
--   last_event / last_event_at: the last lifecycle event the pipeline published
--                              ('new', 'escalated', 'reopened'), see sentinel_pipeline/store.py.
alter table sentinel.alerts
    add column reviewed_by   text,
    add column reviewed_at   timestamptz,
    add column last_event    text check (last_event in ('new', 'escalated', 'reopened')),
    add column last_event_at timestamptz;

-- The whitelist: while a row is active (lifted_at is null) its subject does not alert again for its
-- detector: no notification, no reopening; the case's facts are still kept up to date.
-- Marking an alert false_positive adds a row; moving it to any other status lifts it. Analysts may also
-- add a row by hand, before the subject ever alerts, or lift one (update ... set lifted_at = now()).
create table sentinel.suppressions (
    suppression_id bigint generated always as identity primary key,
    detector       text        not null,
    subject_type   text        not null,
    subject        text        not null,
    alert_id       bigint,      -- the case it was made from, if any (no foreign key: alerts may be rebuilt)
    reason         text,
    created_by     text        not null default session_user,
    created_at     timestamptz not null default now(),
    lifted_by      text,
    lifted_at      timestamptz
);
-- At most one active suppression per detector and subject.
create unique index suppressions_active
    on sentinel.suppressions (detector, subject_type, subject) where lifted_at is null;

-- Triage audit: stamps reviewed_by / reviewed_at on every analyst change of the triage fields and keeps
-- the whitelist in step with the false_positive status. The pipeline marks its own updates with
-- `set local sentinel.actor = 'pipeline'` so that reopening a case is not mistaken for a review.
-- The reviewer is `set local sentinel.reviewer = '...'` if set (the CLI does), else the login role.
create function sentinel.alerts_triage() returns trigger
language plpgsql as $$
declare
    actor text := coalesce(nullif(current_setting('sentinel.actor', true), ''), 'analyst');
    who   text := coalesce(nullif(current_setting('sentinel.reviewer', true), ''), session_user::text);
begin
    if (new.status, new.reviewed, new.reviewer_notes)
       is not distinct from (old.status, old.reviewed, old.reviewer_notes) then
        return new;
    end if;
    if actor <> 'pipeline' then
        if new.reviewed_by is not distinct from old.reviewed_by then
            new.reviewed_by := who;
        end if;
        new.reviewed_at := now();
        new.updated_at := now();
        who := new.reviewed_by;
    end if;

    if new.status = 'false_positive' and old.status <> 'false_positive' then
        insert into sentinel.suppressions (detector, subject_type, subject, alert_id, reason, created_by)
        values (new.detector, new.subject_type, new.subject, new.alert_id, new.reviewer_notes, who)
        on conflict (detector, subject_type, subject) where lifted_at is null do nothing;
    elsif old.status = 'false_positive' and new.status <> 'false_positive' then
        update sentinel.suppressions
           set lifted_at = now(), lifted_by = who
         where detector = new.detector and subject_type = new.subject_type and subject = new.subject
           and lifted_at is null;
    end if;
    return new;
end
$$;

create trigger alerts_triage
    before update of status, reviewed, reviewer_notes on sentinel.alerts
    for each row execute function sentinel.alerts_triage();

-- Cases analysts have already marked false_positive before this migration get their whitelist entry.
insert into sentinel.suppressions (detector, subject_type, subject, alert_id, reason, created_by)
select detector, subject_type, subject, alert_id, reviewer_notes, 'migration 020'
from sentinel.alerts
where status = 'false_positive'
on conflict (detector, subject_type, subject) where lifted_at is null do nothing;

create index alerts_needs_review on sentinel.alerts (last_event_at desc) where not reviewed;

-- Two group roles (NOLOGIN; grant them to login roles, see docs/analysts.md "Roles"):
--   sentinel_analyst  reads everything in schema sentinel and triages: may change an alert's status,
--                     reviewed, reviewer_notes and reviewed_by, and add or lift whitelist entries, but
--                     cannot write detections, alert facts or ingest bookkeeping;
--   sentinel_pipeline reads and writes every table in schema sentinel (what the Dagster assets do), but
--                     does not own or change the schema: migrations run as the schema's owner.
-- Roles belong to the whole server, so they are created only if missing (this needs CREATEROLE once; a
-- DBA may create them beforehand instead, then this file only grants).

do $$
begin
    if not exists (select from pg_roles where rolname = 'sentinel_analyst') then
        create role sentinel_analyst nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'sentinel_pipeline') then
        create role sentinel_pipeline nologin;
    end if;
end
$$;

grant usage on schema sentinel to sentinel_analyst, sentinel_pipeline;

-- Analysts: read all, triage alerts, maintain the whitelist.
grant select on all tables in schema sentinel to sentinel_analyst;
grant update (status, reviewed, reviewer_notes, reviewed_by) on sentinel.alerts to sentinel_analyst;
grant insert (detector, subject_type, subject, alert_id, reason),
      update (reason, lifted_by, lifted_at)
   on sentinel.suppressions to sentinel_analyst;

-- The pipeline: read and write the data, not the schema.
grant select, insert, update, delete, truncate on all tables in schema sentinel to sentinel_pipeline;
grant usage, select on all sequences in schema sentinel to sentinel_pipeline;

-- Tables and views later migrations create (run by the same owner) get the same grants.
alter default privileges in schema sentinel grant select on tables to sentinel_analyst;
alter default privileges in schema sentinel
    grant select, insert, update, delete, truncate on tables to sentinel_pipeline;
alter default privileges in schema sentinel grant usage, select on sequences to sentinel_pipeline;

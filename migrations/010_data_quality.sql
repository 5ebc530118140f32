-- Data quality: columns a landed file had that no layout uses, and every asset-check outcome.

-- Reported, not fatal: a new column from a switch upgrade is ignored, and shown here.
alter table sentinel.landed_files add column extra_columns text[] not null default '{}';

-- One row per asset check and partition hour it judged (partition_hour is null for a check over
-- no particular hour). Written by the Dagster asset checks; read by operations.
create table sentinel.dq_results (
    result_id      bigserial   primary key,
    checked_at     timestamptz not null default now(),
    run_id         text,
    asset          text        not null,
    check_name     text        not null,
    partition_hour timestamptz,
    passed         boolean     not null,
    severity       text        not null check (severity in ('WARN', 'ERROR')),
    blocking       boolean     not null,
    summary        text        not null,
    -- the expectations and the numbers behind the outcome, with sample failing values
    details        jsonb       not null
);
create index dq_results_lookup on sentinel.dq_results (asset, check_name, partition_hour, checked_at desc);
create index dq_results_failed on sentinel.dq_results (checked_at desc) where not passed;

-- The latest outcome of every check for every hour: what operations look at first.
create view sentinel.dq_latest as
select distinct on (asset, check_name, partition_hour) *
from sentinel.dq_results
order by asset, check_name, partition_hour, checked_at desc, result_id desc;

-- Sentinel core schema: the file registry, rejected rows, per-hour ingest facts,
-- detections (one row per partition, detector and subject) and alerts (one row per case).
-- Applied by `sentinel db migrate`; every statement is safe to run on an empty database.

create schema if not exists sentinel;

create type sentinel.severity as enum ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- Every CDR file the landing sensor has seen, by identity (path, size, mtime).
-- A changed file gets a new row and its previous row becomes 'superseded'.
create table sentinel.landed_files (
    file_id       bigserial primary key,
    path          text        not null,
    size_bytes    bigint      not null,
    mtime_ns      bigint      not null,
    format        text        not null check (format in ('csv', 'parquet')),
    layout        text,
    status        text        not null check (status in ('registered', 'superseded', 'quarantined')),
    reason        text,
    hours         timestamptz[] not null default '{}',
    rows_read     bigint,
    registered_at timestamptz not null default now(),
    unique (path, size_bytes, mtime_ns)
);
create index landed_files_current on sentinel.landed_files (path) where status = 'registered';
create index landed_files_hours on sentinel.landed_files using gin (hours);

-- Rows that could not be accepted, with where they came from and why.
-- "hour" is the partition hour (UTC) whose run rejected the row: the row's own hour when its
-- time parsed, otherwise the first hour of its file.
create table sentinel.cdr_rejects (
    file_id  bigint      not null references sentinel.landed_files (file_id),
    line     bigint      not null,
    hour     timestamptz not null,
    reason   text        not null,
    raw      text,
    primary key (file_id, line, reason)
);
create index cdr_rejects_hour on sentinel.cdr_rejects (hour);

-- One row per hourly raw_cdrs partition written to the lake.
create table sentinel.raw_partitions (
    hour              timestamptz primary key,
    input_fingerprint text        not null,
    rows_accepted     bigint      not null,
    rows_rejected     bigint      not null,
    duplicates        bigint      not null,
    files             integer     not null,
    written_at        timestamptz not null default now()
);

-- What a detector found for a subject in one hourly partition (its trailing window).
-- A re-run replaces a partition's rows for that detector in one transaction.
create table sentinel.detections (
    detector       text              not null,
    partition_hour timestamptz       not null,
    subject_type   text              not null,
    subject        text              not null,
    window_start   timestamptz       not null,
    window_end     timestamptz       not null,
    severity       sentinel.severity not null,
    score          double precision  not null check (score between 0 and 1),
    first_seen     timestamptz       not null,
    last_seen      timestamptz       not null,
    metrics        jsonb             not null,
    detected_at    timestamptz       not null default now(),
    run_id         text,
    primary key (detector, partition_hour, subject_type, subject)
);
create index detections_subject on sentinel.detections (detector, subject_type, subject);

-- One row per case an analyst works. The pipeline owns the facts (severity .. evidence);
-- analysts own the triage fields (status, reviewed, reviewer_notes), which the pipeline never writes.
create table sentinel.alerts (
    alert_id       bigserial primary key,
    detector       text              not null,
    subject_type   text              not null,
    subject        text              not null,
    severity       sentinel.severity not null,
    score          double precision  not null check (score between 0 and 1),
    first_seen     timestamptz       not null,
    last_seen      timestamptz       not null,
    detected_at    timestamptz       not null default now(),
    evidence       jsonb             not null,
    status         text              not null default 'open'
                   check (status in ('open', 'investigating', 'confirmed', 'false_positive', 'closed')),
    reviewed       boolean           not null default false,
    reviewer_notes text,
    updated_at     timestamptz       not null default now(),
    unique (detector, subject_type, subject)
);
create index alerts_open on sentinel.alerts (severity, last_seen desc) where status in ('open', 'investigating');

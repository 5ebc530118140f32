-- Two runs over the same hours at once (a sensor run and a back-fill from the UI, two `sentinel
-- process`, a run queue running several): sentinel_pipeline/leases.py and work.py.

-- Which run is working on an hour. A step takes the leases of its run's hours before it writes, all or
-- none, and waits while another run that is still in progress holds one; a lease of a run that ended
-- (or died) is taken over. The run's last step gives them back.
create table sentinel.hour_leases (
    hour      timestamptz primary key,
    run_id    text        not null,
    leased_at timestamptz not null default now()
);
create index hour_leases_run on sentinel.hour_leases (run_id);

-- The raw inputs a run built its derived partitions from: the raw fingerprint of every hour of its
-- windows, taken when its raw_cdrs step ended. The run's last step records its hours as done with these
-- (never with fingerprints another run wrote since), so a run that read inputs which changed under it
-- leaves its hours pending.
create table sentinel.run_inputs (
    run_id      text        not null,
    hour        timestamptz not null,
    fingerprint text        not null,
    files       integer     not null,
    recorded_at timestamptz not null default now(),
    primary key (run_id, hour)
);

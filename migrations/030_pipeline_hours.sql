-- Which hours the whole pipeline has finished, and from what input: the memory that lets the sensor
-- (and `sentinel process`) derive what is still to do from state, so that a crash, a failed run or a
-- killed process leaves work that the next tick finds by itself (sentinel_pipeline/work.py).
--
-- window_fingerprint: md5 of the raw input fingerprints (sentinel.raw_partitions.input_fingerprint) of
-- the hours in the 24-hour window ending at the hour that had files, in hour order; written by the
-- `alerts` asset, the last step of a run, for every hour of the run.
create table sentinel.pipeline_hours (
    hour               timestamptz primary key,
    window_fingerprint text        not null,
    run_id             text,
    completed_at       timestamptz not null default now()
);

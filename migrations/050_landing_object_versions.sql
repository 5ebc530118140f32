-- The landing zone may be a bucket: a file's identity becomes (path, size, version), where the version is
-- what changes when the content is replaced: the mtime in nanoseconds (as text) for a local file, the ETag
-- for an object in a bucket (sentinel_pipeline/storage.py, Entry.identity).
alter table sentinel.landed_files add column version text;
update sentinel.landed_files set version = mtime_ns::text;
alter table sentinel.landed_files alter column version set not null;
alter table sentinel.landed_files drop constraint landed_files_path_size_bytes_mtime_ns_key;
alter table sentinel.landed_files drop column mtime_ns;
alter table sentinel.landed_files add constraint landed_files_identity unique (path, size_bytes, version);
comment on column sentinel.landed_files.version is
    'what changes when the file is replaced: mtime in ns (local directory) or ETag (bucket)';

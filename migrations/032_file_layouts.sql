-- What registration learnt about a file's layout, so that building its hours reads it straight away
-- (one scan per layout) instead of detecting the layout again: the delimiter and which of its columns
-- holds each canonical (or legacy) column.
alter table sentinel.landed_files
    add column delimiter    text,
    add column file_columns jsonb;

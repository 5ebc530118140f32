-- A CSV file whose records DuckDB's reader cannot number by line (blank lines, quoted line breaks, broken
-- lines) is read line by line at every rebuild, so rejected rows keep their true line numbers.
alter table sentinel.landed_files add column read_by_line boolean not null default false;

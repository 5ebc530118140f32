"""Storage benchmark: the same reads and writes on a local directory and on S3, measured in one run.

    python -m bench.storage                       # a throwaway SeaweedFS (tests/s3.py) on 127.0.0.1
    python -m bench.storage --parquet-rows 1000000 --csv-rows 200000   # quicker
    AWS_ENDPOINT_URL=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
        python -m bench.storage --bucket my-bucket  # an existing bucket on a real S3 (left as found)

What it measures (best of ``--repeat`` runs each, MB/s of the file's bytes and rows/s):
- Parquet (``--parquet-rows``, 5M by default, CDR-like columns, zstd): ``write_parquet`` locally and on S3
  (where it is a local COPY and then an upload: both parts are shown), a COPY straight to ``s3://`` through
  the registered s3fs filesystem (the non-atomic way, for comparison), and a full scan with DuckDB;
- CSV (``--csv-rows``, 1M by default), plain and gzip: ``write_bytes``, ``read_csv`` with DuckDB, and the
  line-by-line stream (``open(..., decompress=True)``) that the lenient CSV reader uses;
- how a COPY through s3fs uploads a 50-200 MB file (single PUT or multipart: the ETag's part count).

S3 here is a server on the same 2-core machine: its CPU competes with DuckDB's, and there is no network
latency; against a remote service, expect lower single-stream figures.

Measured 2026-12-01, `python -m bench.storage` (defaults), 2 cores (Xeon), DuckDB 2.0.1 through fsspec,
two runs (load average 1.1 -> 2.7, then 2.5 -> 2.7: other engineers' jobs were running):

    figure                                  local               S3 (SeaweedFS)
    write_parquet 5M rows (32 MB)           2.9 s, 1.7 M rows/s  3.3-3.7 s, 1.3-1.5 M rows/s
      of which the upload                   -                    0.30-0.35 s, 92-108 MB/s
    COPY straight through s3fs              -                    3.6-3.7 s, 1.4 M rows/s
    Parquet full scan 5M rows               0.33-0.58 s          0.87-1.03 s, 4.9-5.8 M rows/s
    read_csv 1M rows (72 MB)                0.17-0.39 s          2.3-2.6 s, 28-31 MB/s, 0.4 M rows/s
    read_csv .csv.gz (19 MB)                0.39-0.74 s          0.55-0.57 s, 1.8 M rows/s
    stream lines, .csv / .csv.gz            0.04-0.06 / 0.42-0.45 s  0.56 / 0.52-0.56 s
    write_bytes 72 MB / 19 MB               0.2 s / 0.01 s       1.4-2.7 s (27-50 MB/s) / 0.18 s (104 MB/s)
    read_bytes 72 MB                        0.03-0.05 s          0.46-0.50 s (145-157 MB/s)

A COPY through s3fs uploads 57 MB as a 2-part and 220 MB as a 4-part multipart upload (s3fs writes
50 MiB blocks; a file under one block is a single PUT). weed mini grew from 142 to about 600 MB resident.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from bench.machine import load, machine

import duckdb

from sentinel_pipeline import storage

CDR_SELECT = """
select
    'r' || range as record_id,
    timestamp '2026-11-01' + to_seconds((range * 17) % 86400) as seizure_time,
    ((range * 7919) % 600)::integer as duration_s,
    '234' || (800000000 + (range * 31) % 2000000) as a_number,
    '234' || (700000000 + (range * 131) % 5000000) as b_number,
    case range % 5 when 0 then 'IGW_IN' else 'MOC' end as record_type,
    'T' || (range % 40) as trunk_in,
    (range % 90000)::integer as cell_id
from range({rows})
"""
SCAN_SQL = (
    "select count(*), sum(duration_s), max(record_id), max(seizure_time), max(a_number), max(b_number),"
    " max(record_type), max(trunk_in), max(cell_id) from {source}"
)


def best(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(label: str, seconds: float, nbytes: int, rows: int | None) -> None:
    rate = f"{rows / seconds / 1e6:6.2f} M rows/s" if rows else " " * 15
    print(f"  {label:<52} {seconds:7.3f} s {nbytes / seconds / 1e6:8.1f} MB/s  {rate}")


@contextmanager
def s3_bucket(bucket: str | None):
    """The bucket to use: the given one, or a new bucket on a throwaway SeaweedFS."""
    if bucket:
        yield bucket, None
        return
    from tests.s3 import start_server

    directory = Path(tempfile.mkdtemp(prefix="sentinel-s3-bench-"))
    server = start_server(directory)
    os.environ.update(server.env)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    name = "bench-" + uuid.uuid4().hex[:8]
    server.create_bucket(name)
    print(f"SeaweedFS weed mini: ready in {server.startup_seconds:.2f} s, {server.rss_mb():.0f} MB resident")
    try:
        yield name, server
    finally:
        print(f"SeaweedFS weed mini: {server.rss_mb():.0f} MB resident at the end")
        server.stop()


def bench(loc: storage.Location, label: str, args, scratch: Path) -> None:
    con = duckdb.connect()
    how = storage.prepare_duckdb(con, loc) or "local files"
    print(f"\n{label}: {loc.url()}  (DuckDB through {how})")
    loc.list(limit=1)  # connect (and find credentials) before timing anything
    repeat = args.repeat

    # Parquet
    rows = args.parquet_rows
    select = CDR_SELECT.format(rows=rows)
    key = "lake/cdr/2026-11-01/0000.parquet"
    if isinstance(loc, storage.S3Location):
        staged = scratch / "staged.parquet"
        copy_s = best(repeat, lambda: storage._copy_parquet(con, select, str(staged)))
        size = staged.stat().st_size
        upload_s = best(repeat, lambda: loc.fs.put_file(
            str(staged), f"{loc.bucket}/{loc._object_key(key)}",
            chunksize=storage.PART_SIZE, max_concurrency=storage.UPLOAD_CONCURRENCY))
        staged.unlink()
    seconds = best(repeat, lambda: loc.write_parquet(con, select, key))
    size = loc.stat(key).size
    row(f"write_parquet {rows:,} rows ({size / 1e6:.0f} MB)", seconds, size, rows)
    if isinstance(loc, storage.S3Location):
        row("  of which: COPY to a local temporary file", copy_s, size, rows)
        row("  of which: upload (PUT / multipart, 16 MiB x 4)", upload_s, size, None)
        direct = "lake/direct.parquet"
        fs = loc.fs

        def copy_direct():
            with fs.transaction:  # atomic when it succeeds; still, see the docstring of storage
                con.execute(f"copy ({select}) to '{loc.url(direct)}' (format parquet, compression zstd)")

        row("COPY straight to s3:// through s3fs (for comparison)", best(repeat, copy_direct), size, rows)
        loc.delete(direct)
    source = f"read_parquet('{loc.url(key)}')"
    scan = best(repeat, lambda: con.execute(SCAN_SQL.format(source=source)).fetchall())
    row("full scan with DuckDB (every column)", scan, size, rows)

    # CSV and CSV.gz
    rows = args.csv_rows
    csv_path = scratch / "cdr.csv"
    con.execute(f"copy ({CDR_SELECT.format(rows=rows)}) to '{csv_path}' (format csv, header)")
    data = csv_path.read_bytes()
    compressed = gzip.compress(data, compresslevel=6)
    for name, payload in (("landing/cdr.csv", data), ("landing/cdr.csv.gz", compressed)):
        seconds = best(repeat, lambda: loc.write_bytes(name, payload))
        row(f"write_bytes {name.split('/')[-1]} ({len(payload) / 1e6:.0f} MB)", seconds, len(payload), rows)
        source = f"read_csv('{loc.url(name)}')"
        seconds = best(repeat, lambda: con.execute(SCAN_SQL.format(source=source)).fetchall())
        row(f"read_csv {name.split('/')[-1]} with DuckDB", seconds, len(payload), rows)

        def stream():
            with loc.open(name, decompress=True) as fh:
                for _ in fh:
                    pass

        row(f"stream {name.split('/')[-1]} line by line (Python)", best(repeat, stream), len(payload), rows)
        seconds = best(repeat, lambda: loc.read_bytes(name))
        row(f"read_bytes {name.split('/')[-1]}", seconds, len(payload), None)
    con.close()


def upload_shapes(loc: storage.S3Location) -> None:
    """How a COPY through the registered s3fs filesystem uploads files of 50-200 MB."""
    con = duckdb.connect()
    storage.prepare_duckdb(con, loc)
    print("\nCOPY straight to s3:// through s3fs: how the file is uploaded")
    for rows in (1_300_000, 5_000_000):
        key = f"shape/{rows}.parquet"
        select = f"select range as i, md5(range::varchar) as s from range({rows})"
        con.execute(f"copy ({select}) to '{loc.url(key)}' (format parquet, compression uncompressed)")
        entry = loc.stat(key)
        parts = entry.version.partition("-")[2]
        shape = f"multipart upload, {parts} parts" if parts else "single PUT"
        print(f"  {entry.size / 1e6:5.0f} MB: {shape}")
        loc.delete(key)
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parquet-rows", type=int, default=5_000_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is shown")
    parser.add_argument("--bucket", help="an existing bucket (endpoint and credentials from AWS_* variables)")
    args = parser.parse_args()

    print(f"machine: {machine()}; load average {load()} at the start")
    threads = duckdb.connect().execute("select current_setting('threads')").fetchone()[0]
    print(f"duckdb {duckdb.__version__}, {threads} threads; s3fs block {storage.s3_filesystem().default_block_size >> 20} MiB")
    scratch = Path(tempfile.mkdtemp(prefix="sentinel-bench-storage-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        bench(storage.location(scratch / "local"), "local directory", args, scratch)
        with s3_bucket(args.bucket) as (bucket, _server):
            loc = storage.location(f"s3://{bucket}/{prefix}")
            try:
                bench(loc, "S3", args, scratch)
                upload_shapes(loc)
            finally:
                for entry in loc.list():
                    loc.delete(entry.key)
                if _server is not None:
                    _server.remove_bucket(bucket)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nload average {load()} at the end")


if __name__ == "__main__":
    main()

"""The storage layer on a local directory and on a real S3 server (SeaweedFS, tests/s3.py): the same tests
run on both wherever the behaviour is the same."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from sentinel_pipeline import storage
from sentinel_pipeline.storage import AccessDenied, BucketNotFound, NotFound, StorageError

pytest_plugins = ["tests.s3"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["local", "s3"])
def loc(request, tmp_path) -> storage.Location:
    """A location on each kind of storage, with a prefix (the bucket's root is not the location's)."""
    if request.param == "local":
        return storage.location(tmp_path / "root")
    bucket = request.getfixturevalue("s3_bucket")
    return storage.location(f"s3://{bucket}/root")


@pytest.fixture
def s3_loc(s3_bucket) -> storage.S3Location:
    return storage.location(f"s3://{s3_bucket}/root")


def keys(entries) -> list[str]:
    return [e.key for e in entries]


# --- locations and keys ----------------------------------------------------------------------------------


def test_location_from_url_or_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = storage.location("lake")
    assert isinstance(local, storage.LocalLocation) and local.root == tmp_path / "lake"
    assert storage.location(f"file://{tmp_path}/x").url("a", "b.csv") == str(tmp_path / "x" / "a" / "b.csv")
    s3 = storage.location("s3://bucket/some/prefix/")
    assert isinstance(s3, storage.S3Location) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    assert s3.url() == "s3://bucket/some/prefix"
    assert s3.url("asset/2026-01-01", "0000.parquet") == "s3://bucket/some/prefix/asset/2026-01-01/0000.parquet"
    assert storage.location("s3://bucket").url("k") == "s3://bucket/k"
    with pytest.raises(StorageError, match="no bucket"):
        storage.location("s3:///x")
    with pytest.raises(StorageError, match="no bucket"):
        storage.location("s3://")
    with pytest.raises(StorageError, match="unsupported URL scheme"):
        storage.location("gs://bucket/x")


def test_join_key():
    assert storage.join_key("a/", "/b", "c.csv") == "a/b/c.csv"
    assert storage.join_key() == ""
    with pytest.raises(ValueError):
        storage.join_key("a", "../b")


def test_temporary_names_follow_the_landing_convention():
    for key in (".x.csv", "_x.csv", "a/x.csv.tmp", "a/x.CSV.part", "a/.staging/x.csv", "_tmp/x.csv", "x.csv.crdownload"):
        assert storage.is_temporary(key), key
    for key in ("x.csv", "a/b/x.csv.gz", "a_b/x.parquet", "x.tmp.csv"):
        assert not storage.is_temporary(key), key


# --- every operation on both kinds -----------------------------------------------------------------------


def test_write_read_stat_delete(loc):
    assert not loc.exists("a/b.csv")
    loc.write_bytes("a/b.csv", b"hello")
    assert loc.exists("a/b.csv")
    assert loc.read_bytes("a/b.csv") == b"hello"
    entry = loc.stat("a/b.csv")
    assert (entry.key, entry.size) == ("a/b.csv", 5)
    assert entry.version and abs(entry.modified - time.time()) < 120
    assert not loc.exists("a")  # a "directory" is not an object
    loc.delete("a/b.csv")
    assert not loc.exists("a/b.csv")
    loc.delete("a/b.csv")  # idempotent
    loc.write_bytes("empty", b"")
    assert loc.stat("empty").size == 0 and loc.read_bytes("empty") == b""


def test_missing_object_is_a_clear_error(loc):
    for call in (lambda: loc.stat("no/such.csv"), lambda: loc.read_bytes("no/such.csv"), lambda: loc.open("no/such.csv")):
        with pytest.raises(NotFound) as info:
            call()
        assert str(info.value).startswith(loc.url("no/such.csv") + ": no such")


def test_version_changes_when_the_object_is_replaced(loc):
    loc.write_bytes("k", b"one")
    first = loc.stat("k")
    time.sleep(0.01)  # a local mtime must be able to move
    loc.write_bytes("k", b"two")  # same size, other bytes
    second = loc.stat("k")
    assert second.size == first.size and second.version != first.version
    assert second.identity == ("k", 3, second.version)


def test_etag_is_the_md5_of_the_content(s3_loc):
    s3_loc.write_bytes("k", b"abc")
    first = s3_loc.stat("k").version
    assert first == hashlib.md5(b"abc").hexdigest()
    s3_loc.write_bytes("k", b"abc")  # the same bytes again: the same identity
    assert s3_loc.stat("k").version == first


def test_multipart_etag(s3_loc, monkeypatch):
    monkeypatch.setattr(storage, "PART_SIZE", 5 * 2**20)  # S3's smallest part
    data = os.urandom(11 * 2**20)
    s3_loc.write_bytes("big.bin", data)
    parts = [data[i:i + 5 * 2**20] for i in range(0, len(data), 5 * 2**20)]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    entry = s3_loc.stat("big.bin")
    assert (entry.size, entry.version) == (len(data), expected)
    assert s3_loc.list("big")[0].version == expected
    assert s3_loc.read_bytes("big.bin") == data


def test_open_streams_and_decompresses(loc):
    lines = [f"{i},{i * i}\n".encode() for i in range(20_000)]
    loc.write_bytes("in/x.csv.gz", gzip.compress(b"".join(lines)))
    loc.write_bytes("in/x.csv", b"".join(lines))
    with loc.open("in/x.csv.gz", decompress=True) as fh:
        assert list(fh) == lines
    with loc.open("in/x.csv.gz") as fh:  # raw bytes unless asked
        assert fh.read(2) == b"\x1f\x8b"
    with loc.open("in/x.csv", decompress=True) as fh:  # not a .gz: as it is
        assert fh.readline() == lines[0]


def test_list_in_key_order_with_prefix(loc):
    names = ["b.csv", "a/x.csv", "a.csv", "a/b/c.csv", "a-b.csv", "ab/y.csv", "z/ä b+c.csv", ".hidden/t.csv"]
    for i, name in enumerate(names):
        loc.write_bytes(name, b"x" * i)
    everything = loc.list()
    assert sorted(keys(everything)) == sorted(names)
    if isinstance(loc, storage.LocalLocation):
        assert keys(everything) == sorted(names)  # code point order == AWS S3's UTF-8 byte order
    # (SeaweedFS lists in directory-tree order instead: 'a/b/c.csv' before 'a-b.csv'; see tests/s3.py)
    assert {e.key: e.size for e in everything} == {name: i for i, name in enumerate(names)}
    assert keys(loc.list("a/")) == ["a/b/c.csv", "a/x.csv"]
    assert sorted(keys(loc.list("a"))) == ["a-b.csv", "a.csv", "a/b/c.csv", "a/x.csv", "ab/y.csv"]  # a string prefix
    assert keys(loc.list("a/b")) == ["a/b/c.csv"]
    assert loc.list("nothing/") == []
    assert sorted(keys(e for e in everything if not storage.is_temporary(e.key))) == sorted(names[:-1])


def test_list_is_bounded_and_pages_with_start_after(loc, monkeypatch):
    monkeypatch.setattr(storage, "LIST_PAGE", 4)  # S3 pages of 4 keys: several requests per call
    names = sorted(f"d/{day:02d}/{n}.csv" for day in range(3) for n in range(5))
    for name in names:
        loc.write_bytes(name, b"1")
    assert keys(loc.list("d/", limit=6)) == names[:6]
    seen, cursor = [], None
    while True:
        page = loc.list("d/", start_after=cursor, limit=4)
        seen += keys(page)
        if len(page) < 4:
            break
        cursor = page[-1].key
    assert seen == names
    if isinstance(loc, storage.LocalLocation):  # a cursor that is no key (SeaweedFS skips "directory" d/01)
        assert keys(loc.list("d/", start_after="d/01")) == names[5:]
    assert keys(loc.list("d/", start_after="d/01/4.csv", limit=2)) == ["d/02/0.csv", "d/02/1.csv"]
    assert loc.list("d/", limit=0) == []


# --- atomic writes ---------------------------------------------------------------------------------------


def test_readers_see_the_old_object_or_the_new_one(loc, monkeypatch):
    """A reader polling while large objects replace each other only ever reads a whole one."""
    monkeypatch.setattr(storage, "PART_SIZE", 5 * 2**20)  # 24 MiB: a 5-part multipart upload on S3
    blobs = [bytes([n]) * (24 * 2**20) for n in (1, 2)]
    digests = {hashlib.md5(b).hexdigest() for b in blobs}
    loc.write_bytes("obj", blobs[0])
    done = threading.Event()
    reads: list[str] = []

    def read_all():
        while not done.is_set():
            reads.append(hashlib.md5(loc.read_bytes("obj")).hexdigest())

    reader = threading.Thread(target=read_all)
    reader.start()
    try:
        for n in range(4):
            loc.write_bytes("obj", blobs[(n + 1) % 2])
    finally:
        done.set()
        reader.join()
    assert reads and set(reads) <= digests
    assert keys(loc.list()) == ["obj"]  # no temporary left behind


def test_failed_parquet_write_keeps_the_old_object(loc):
    con = duckdb.connect()
    storage.prepare_duckdb(con, loc)
    loc.write_parquet(con, "select range as i from range(10)", "t/part.parquet")
    before = loc.stat("t/part.parquet")
    with pytest.raises(duckdb.Error, match="boom"):
        # fails after writing a few hundred thousand rows
        loc.write_parquet(
            con, "select range as i, if(range > 900000, error('boom'), md5(range::varchar)) as s from range(1000000)",
            "t/part.parquet",
        )
    assert loc.stat("t/part.parquet") == before
    assert con.execute(f"select count(*) from read_parquet('{loc.url('t/part.parquet')}')").fetchone() == (10,)
    assert keys(loc.list()) == ["t/part.parquet"]


def test_upload_killed_midway_leaves_no_object(s3_server, s3_loc):
    """A process killed while its multipart upload is under way: the key keeps its old object; the parts
    already sent stay as an incomplete upload (to abort, or to expire with a lifecycle rule)."""
    s3_loc.write_bytes("victim.bin", b"old")
    code = textwrap.dedent(f"""
        import os
        from sentinel_pipeline import storage
        storage.PART_SIZE = 5 * 2**20
        storage.UPLOAD_CONCURRENCY = 1
        storage.location({s3_loc.url()!r}).write_bytes("victim.bin", os.urandom(200 * 2**20))
    """)
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy())
    fs, bucket = s3_server.fs, s3_loc.bucket
    try:
        deadline = time.monotonic() + 60
        while True:
            uploads = fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", [])
            if uploads:
                upload = uploads[0]
                parts = fs.call_s3("list_parts", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                if parts.get("Parts"):
                    break
            assert child.poll() is None, "the upload finished before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.kill()
        child.wait()
        assert s3_loc.read_bytes("victim.bin") == b"old"
        assert keys(s3_loc.list()) == ["victim.bin"]
        assert upload["Key"] == "root/victim.bin"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_plain_copy_through_fsspec_publishes_a_partial_object(s3_loc):
    """Why write_parquet stages locally: a COPY straight to s3:// through the registered s3fs filesystem
    leaves a truncated object when the query fails (s3fs completes the upload when DuckDB closes the file).
    If this starts failing, s3fs or DuckDB changed: write_parquet could then COPY directly."""
    con = duckdb.connect()
    storage.prepare_duckdb(con, s3_loc)
    with pytest.raises(duckdb.Error, match="boom"):
        con.execute(
            "copy (select range as i, if(range > 3000000, error('boom'), md5(range::varchar)) as s "
            f"from range(4000000)) to '{s3_loc.url('direct.parquet')}' (format parquet, compression uncompressed)"
        )
    partial = s3_loc.stat("direct.parquet")
    assert partial.size > 0
    with pytest.raises(duckdb.Error):
        con.sql(f"select count(*) from '{s3_loc.url('direct.parquet')}'").fetchall()


# --- DuckDB ----------------------------------------------------------------------------------------------


def test_duckdb_reads_and_writes_parquet_and_csv(loc):
    con = duckdb.connect()
    how = storage.prepare_duckdb(con, loc)
    assert how == (None if isinstance(loc, storage.LocalLocation) else "fsspec")  # no httpfs on these machines
    assert storage.prepare_duckdb(con, loc) == how  # again: no change
    loc.write_parquet(con, "select range as id, 'a' || range as name from range(1000)", "p/2026-01-01/0000.parquet")
    loc.write_parquet(con, "select range + 1000 as id, 1.5 as score from range(500)", "p/2026-01-01/0100.parquet")
    glob = loc.url("p/*/*.parquet")
    assert con.execute(f"select count(*), count(name), count(score) from read_parquet('{glob}', union_by_name=true)").fetchone() == (1500, 1000, 500)
    csv = "record_id,duration_s\n" + "".join(f"r{i},{i % 7}\n" for i in range(3000))
    loc.write_bytes("in/a.csv", csv.encode())
    loc.write_bytes("in/b.csv.gz", gzip.compress(csv.encode()))
    assert con.execute(f"select count(*), sum(duration_s) from read_csv('{loc.url('in/a.csv')}')").fetchone() == (3000, sum(i % 7 for i in range(3000)))
    assert con.execute(f"select count(*) from read_csv('{loc.url('in/b.csv.gz')}')").fetchone() == (3000,)
    assert con.execute(f"select count(*) from read_csv('{loc.url('in/*.csv*')}', union_by_name=true)").fetchone() == (6000,)
    # COPY straight to the location works too (not atomic on failure: use write_parquet)
    con.execute(f"copy (select 42 as x) to '{loc.url('direct.csv.gz')}' (format csv, header, compression gzip)")
    assert gzip.decompress(loc.read_bytes("direct.csv.gz")) == b"x\n42\n"


def test_one_connection_for_lake_and_landing_in_two_buckets(s3_server, s3_bucket, tmp_path):
    other = s3_bucket + "-landing"
    s3_server.create_bucket(other)
    try:
        lake, landing, local = (storage.location(f"s3://{s3_bucket}/lake"), storage.location(f"s3://{other}/in"),
                                storage.location(tmp_path))
        con = duckdb.connect()
        assert storage.prepare_duckdb(con, lake, landing, local) == "fsspec"
        landing.write_bytes("a.csv", b"x\n1\n2\n")
        lake.write_parquet(con, f"select sum(x) as total from read_csv('{landing.url('a.csv')}')", "t.parquet")
        assert con.execute(f"select total from '{lake.url('t.parquet')}'").fetchall() == [(3,)]
    finally:
        s3_server.remove_bucket(other)


def test_prepare_duckdb_ignores_local_locations(tmp_path):
    con = duckdb.connect()
    assert storage.prepare_duckdb(con, storage.location(tmp_path)) is None
    assert con.list_filesystems() == []


def test_httpfs_secret_from_the_environment():
    sql = storage.httpfs_secret_sql({
        "AWS_ENDPOINT_URL": "http://127.0.0.1:8333", "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "S'K",
        "AWS_REGION": "eu-west-1",
    })
    assert sql == (
        "create or replace temporary secret sentinel_s3 (type s3, provider config, key_id 'AK', secret 'S''K', "
        "region 'eu-west-1', endpoint '127.0.0.1:8333', use_ssl false, url_style 'path')"
    )
    assert storage.httpfs_secret_sql({}) == (
        "create or replace temporary secret sentinel_s3 (type s3, provider credential_chain, chain 'env;sts;instance')"
    )


# --- errors ----------------------------------------------------------------------------------------------


def test_missing_bucket_is_named(s3_env):
    """A missing bucket is an error everywhere, never an empty lake or landing zone."""
    loc = storage.location("s3://no-such-bucket-here/lake")
    with pytest.raises(BucketNotFound, match=r"^s3://no-such-bucket-here/lake/k: bucket 'no-such-bucket-here' does not exist$"):
        loc.stat("k")
    for call in (lambda: loc.exists("k"), lambda: loc.list(), lambda: loc.write_bytes("k", b"1"), lambda: loc.read_bytes("k")):
        with pytest.raises(BucketNotFound, match="bucket 'no-such-bucket-here' does not exist"):
            call()
    con = duckdb.connect()
    storage.prepare_duckdb(con, loc)
    with pytest.raises(duckdb.Error) as info:
        con.sql(f"select * from read_csv('{loc.url('x.csv')}')").fetchall()
    assert storage.error_reason(info.value) == "FileNotFoundError: The specified bucket does not exist"


def test_wrong_credentials_are_refused(s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    loc = storage.location(f"s3://{s3_bucket}/lake")
    for call in (lambda: loc.list(), lambda: loc.write_bytes("k", b"1"), lambda: loc.stat("k")):
        with pytest.raises(AccessDenied, match=rf"^s3://{s3_bucket}/lake.*: access denied .*AWS_SECRET_ACCESS_KEY"):
            call()


def test_credentials_never_come_from_files(s3_server, s3_bucket, monkeypatch, tmp_path):
    """Valid keys in an AWS credentials file are not used: only the environment (or workload identity)."""
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = {s3_server.access_key}\naws_secret_access_key = {s3_server.secret_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(credentials.read_text())
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AccessDenied, match="no credentials: set AWS_ACCESS_KEY_ID"):
        storage.location(f"s3://{s3_bucket}").list()


def test_error_reason():
    assert storage.error_reason(ValueError("first line\nmore")) == "first line"
    assert storage.error_reason(RuntimeError("Traceback (most recent call last):\n  File x\nPermissionError: Forbidden")) == "PermissionError: Forbidden"
    assert storage.error_reason(NotFound("s3://b/k", "no such object")) == "no such object"

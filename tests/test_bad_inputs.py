"""Bad inputs: every file in the corpus ends up accepted, rejected with a reason, or quarantined with a
reason; none crashes a run or is lost. For every registered file: rows in the lake + rows in
sentinel.cdr_rejects = rows read (duplicates are rejects with reason 'duplicate record_id ...')."""

import gzip
import os
import time
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sentinel_pipeline import ingest, landing, lake
from sentinel_pipeline.cdr.layouts import MAX_LINE_BYTES
from sentinel_pipeline.cdr.lines import MAX_RAW_CHARS
from sentinel_pipeline.duck import literal
from sentinel_pipeline.cli import main as sentinel_main

HEADER = "record_id,seizure_time,duration_s,a_number,b_number\n"
HOUR = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)


def good(record_id, minute: int = 5) -> str:
    return f"{record_id},2026-11-26T10:{minute:02d}:00Z,5,08031234567,08061234567\n"


def corpus() -> dict[str, bytes]:
    """name -> content. Names starting with 'q_' must be quarantined; the rest registered."""
    full_gzip = gzip.compress((HEADER + "".join(good(f"gz{i}") for i in range(5000))).encode())
    return {
        "bad_quoting.csv": (
            HEADER + good("bq1") + 'bq2,"2026-11-26T10:00:00Z,5,0803,0806\n' + 'bq3,"2026"x,5,0803,0806\n' + good("bq4")
        ).encode(),
        "wrong_field_count.csv": (
            HEADER + good("fc1") + "fc2,2026-11-26T10:00:00Z,5,0803\n" + "fc3,2026-11-26T10:00:00Z,5,0803,0806,x\n"
            + good("fc4")
        ).encode(),
        "wrong_types.csv": (
            HEADER + good("wt1") + "wt2,yesterday,5,0803,0806\n" + "wt3,2026-11-26T10:00:00Z,five,0803,0806\n"
        ).encode(),
        "durations.csv": (
            HEADER + good("du1") + "du2,2026-11-26T10:00:00Z,-1,0803,0806\n"
            + "du3,2026-11-26T10:00:00Z,999999999,0803,0806\n" + "du4,2026-11-26T10:00:00Z,8031234567,0803,0806\n"
        ).encode(),
        "times.csv": (
            HEADER + good("ti1") + "ti2,2099-01-01T00:00:00Z,5,0803,0806\n" + "ti3,1970-01-01T00:00:00Z,5,0803,0806\n"
        ).encode(),
        "latin1.csv": HEADER.encode() + good("l1").encode() + "l2,2026-11-26T10:00:00Z,5,0803,José\n".encode("latin-1"),
        "long_line.csv": (HEADER + good("ll1") + "ll2,2026-11-26T10:00:00Z,5,0803," + "9" * 2_500_000 + "\n" + good("ll3")).encode(),
        "blank_lines.csv": (HEADER + good("bl1") + "\n\n" + "bl2,2026-11-26T10:00:00Z,-3,0803,0806\n").encode(),
        "dup_a.csv": (HEADER + good("dup1") + good("dup2")).encode(),
        "dup_b.csv": (HEADER + good("dup1") + good("dup3")).encode(),
        "extra_column.csv": (HEADER.rstrip() + ",Vendor_Field\n" + good("ex1").rstrip() + ",v\n").encode(),
        "big.csv.gz": full_gzip,
        "q_truncated.csv.gz": full_gzip[: len(full_gzip) // 2],
        "q_not_gzip.csv.gz": b"record_id,seizure_time\n",
        "q_empty.csv": b"",
        "q_header_only.csv": HEADER.encode(),
        "q_utf16.csv": (HEADER + good("u1")).encode("utf-16"),
        "q_missing_columns.csv": b"record_id,when\n1,2\n",
        "q_not_parquet.parquet": b"PAR1 this is not parquet",
        "q_no_valid_times.csv": (HEADER + "nt1,never,5,1,2\n").encode(),
    }


def write_corpus(settings) -> None:
    settings.landing.root.mkdir(parents=True, exist_ok=True)
    for name, content in corpus().items():
        (settings.landing.root / name).write_bytes(content)
    pq.write_table(pa.table({"id": ["1"], "when": ["x"]}), settings.landing.root / "q_wrong_schema.parquet")
    pq.write_table(
        pa.table({"record_id": ["p1", "p2"], "seizure_time": ["2026-11-26T10:01:00Z", "2026-11-26T10:02:00Z"],
                  "duration_s": pa.array([3, -1], pa.int64()), "a_number": pa.array([8031234567, 8031234568]),
                  "b_number": ["0806", "0807"]}),
        settings.landing.root / "typed.parquet",
    )


def register(settings, conn) -> landing.TickOutcome:
    return landing.register_landed_files(settings, conn, {}, now=time.time() + 3600)


def per_file_accounting(settings, conn) -> dict[str, tuple[int, int, int]]:
    """path -> (rows_read, rows in the lake, rows in cdr_rejects)."""
    files = conn.execute(
        "select file_id, path, rows_read from sentinel.landed_files where status = 'registered'"
    ).fetchall()
    rejects = dict(conn.execute("select file_id, count(*) from sentinel.cdr_rejects group by file_id").fetchall())
    paths = [str(p) for p in (settings.lake.root / ingest.ASSET).rglob("*.parquet")]
    in_lake = dict(duckdb.sql(f"select file_id, count(*) from read_parquet({literal(paths)}) group by 1").fetchall())
    return {path: (read, in_lake.get(fid, 0), rejects.get(fid, 0)) for fid, path, read in files}


def reasons(conn, path: str) -> dict[int, str]:
    return dict(conn.execute(
        """
        select r.line, r.reason from sentinel.cdr_rejects r join sentinel.landed_files f using (file_id)
        where f.path = %s order by r.line
        """, [path]
    ).fetchall())


def test_every_bad_input_is_accepted_rejected_or_quarantined(settings, conn):
    write_corpus(settings)
    outcome = register(settings, conn)

    quarantined = dict(conn.execute("select path, reason from sentinel.landed_files where status = 'quarantined'").fetchall())
    expected_q = {n for n in os.listdir(settings.landing.root) if n.startswith("q_")}
    assert set(quarantined) == expected_q
    assert "truncated gzip" in quarantined["q_truncated.csv.gz"]
    assert "not a gzip file" in quarantined["q_not_gzip.csv.gz"]
    assert "empty file" in quarantined["q_empty.csv"]
    assert "header but no rows" in quarantined["q_header_only.csv"]
    assert "UTF-16" in quarantined["q_utf16.csv"]
    assert "missing required columns: seizure_time" in quarantined["q_missing_columns.csv"]
    assert "missing required columns" in quarantined["q_wrong_schema.parquet"]
    assert "cannot be read as parquet" in quarantined["q_not_parquet.parquet"]
    assert "readable seizure_time" in quarantined["q_no_valid_times.csv"]
    assert outcome.extra_columns == {"extra_column.csv": ["Vendor_Field"]}

    summary = ingest.build_raw_hours(settings, conn, sorted(outcome.hours))
    assert summary.duplicates == 1

    accounting = per_file_accounting(settings, conn)
    assert len(accounting) == len(os.listdir(settings.landing.root)) - len(expected_q)
    for path, (read, accepted, rejected) in accounting.items():
        assert accepted + rejected == read, path

    assert reasons(conn, "bad_quoting.csv") == {
        3: "malformed CSV: unexpected end of data",
        4: "malformed CSV: ',' expected after '\"'",
    }
    assert reasons(conn, "wrong_field_count.csv") == {
        3: "wrong number of fields: expected 5, got 4",
        4: "wrong number of fields: expected 5, got 6",
    }
    assert reasons(conn, "wrong_types.csv") == {
        3: "seizure_time is not an ISO-8601 time: yesterday",
        4: "duration_s is not a whole number: five",
    }
    assert reasons(conn, "durations.csv") == {
        3: "duration_s is negative: -1",
        4: "duration_s is over 86400 (24 h): 999999999",
        5: "duration_s is over 86400 (24 h): 8031234567",  # too big for the column's type: no crash
    }
    times = reasons(conn, "times.csv")
    assert times[3].startswith("seizure_time is more than 1 day in the future")
    assert times[4].startswith("seizure_time is before the first partition")
    assert reasons(conn, "latin1.csv") == {3: "line is not valid UTF-8"}
    assert reasons(conn, "long_line.csv") == {3: f"line longer than {MAX_LINE_BYTES} bytes"}
    # Blank lines do not shift line numbers: the bad row is on physical line 5.
    assert reasons(conn, "blank_lines.csv") == {5: "duration_s is negative: -3"}
    assert reasons(conn, "typed.parquet") == {3: "duration_s is negative: -1"}
    assert reasons(conn, "dup_a.csv") == {}
    (dup_reason,) = reasons(conn, "dup_b.csv").values()
    assert dup_reason.startswith("duplicate record_id: first delivered in file") and dup_reason.endswith("line 2")

    # The raw content is kept with every reject, and a long line's raw text is cut.
    raws = conn.execute("select reason, raw from sentinel.cdr_rejects").fetchall()
    assert all(raw for _, raw in raws)
    assert max(len(raw) for _, raw in raws) <= MAX_RAW_CHARS
    assert any("José".replace("é", "\ufffd") in raw for _, raw in raws)


def test_a_quarantined_file_fixed_and_dropped_again_is_processed(settings, conn):
    path = settings.landing.root / "feed.csv.gz"
    path.parent.mkdir(parents=True)
    content = gzip.compress((HEADER + "".join(good(f"r{i}") for i in range(3000))).encode())
    path.write_bytes(content[:-40])
    register(settings, conn)
    (status,) = conn.execute("select status from sentinel.landed_files where path = 'feed.csv.gz'").fetchone()
    assert status == "quarantined"

    path.write_bytes(content)  # the mediation node re-sends it whole: a new identity
    outcome = register(settings, conn)
    assert [f.key for f, _, _ in outcome.registered] == ["feed.csv.gz"]
    summary = ingest.build_raw_hours(settings, conn, sorted(outcome.hours))
    assert summary.accepted == 3000


def test_a_bad_file_does_not_hold_up_the_others(settings, conn):
    settings.landing.root.mkdir(parents=True)
    (settings.landing.root / "a_bad.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (settings.landing.root / "b_good.csv").write_text(HEADER + good("g1"))
    outcome = register(settings, conn)
    assert [f.key for f, _ in outcome.quarantined] == ["a_bad.csv.gz"]
    assert [f.key for f, _, _ in outcome.registered] == ["b_good.csv"]


def test_a_column_map_reads_another_mediation_layout(settings, conn, tmp_path, monkeypatch):
    mapping = tmp_path / "layouts.yaml"
    mapping.write_text(
        "layouts:\n"
        "  vendor_x:\n"
        "    record_id: CDR ID\n"
        "    seizure_time: Start_Time\n"
        "    duration_s: CallDuration\n"
        "    a_number: calling\n"
        "    b_number: called\n"
        "    record_type: Type\n"
    )
    monkeypatch.setenv("SENTINEL_COLUMN_MAP", str(mapping))
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    settings.landing.root.mkdir(parents=True)
    (settings.landing.root / "x.csv").write_text(
        "cdr id;START_TIME;callduration;Calling;Called;Type;Switch\n"
        "x1;2026-11-26T10:01:00Z;7;08031234567;08061234567;MOC;sw1\n"
    )
    outcome = register(settings, conn)
    assert outcome.extra_columns == {"x.csv": ["Switch"]}
    (layout, extra) = conn.execute("select layout, extra_columns from sentinel.landed_files").fetchone()
    assert (layout, extra) == ("vendor_x", ["Switch"])
    ingest.build_raw_hours(settings, conn, sorted(outcome.hours))
    (row,) = duckdb.sql(
        f"select record_id, duration_s, a_number from read_parquet('{settings.lake.root / lake.hour_key(ingest.ASSET, HOUR)}')"
    ).fetchall()
    assert row == ("x1", 7, "+2348031234567")


def test_quarantined_files_and_rejects_show_in_the_cli(settings, conn, capsys):
    write_corpus(settings)
    outcome = register(settings, conn)
    ingest.build_raw_hours(settings, conn, sorted(outcome.hours))
    assert sentinel_main(["files", "list", "--status", "quarantined"]) == 0
    out = capsys.readouterr().out
    assert "q_truncated.csv.gz" in out and "truncated gzip" in out and "b_good" not in out
    assert sentinel_main(["files", "rejects", "wrong_field_count.csv"]) == 0
    out = capsys.readouterr().out
    assert "wrong number of fields: expected 5, got 4" in out and "fc2,2026-11-26T10:00:00Z,5,0803" in out


def test_quarantined_files_show_in_the_raw_cdrs_metadata_until_fixed(settings, conn):
    import dagster as dg

    from assets.cdrs import raw_cdrs
    from resources import SentinelResource
    from sentinel_pipeline import registry

    settings.landing.root.mkdir(parents=True)
    (settings.landing.root / "late.csv").write_text(HEADER)
    (settings.landing.root / "ok.csv").write_text(HEADER + good("k1"))
    register(settings, conn)
    result = dg.materialize([raw_cdrs], partition_key="2026-11-26-10:00", resources={"sentinel": SentinelResource.from_settings(settings)})
    (event,) = result.get_asset_materialization_events()
    table = event.materialization.metadata["quarantined_files"].value
    assert "late.csv" in table and "header but no rows" in table

    (settings.landing.root / "late.csv").write_text(HEADER + good("k2"))  # fixed and dropped again
    register(settings, conn)
    assert registry.recent_quarantine(conn) == []

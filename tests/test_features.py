"""Windowed caller features from hand-made raw_cdrs lake files."""

from datetime import datetime, timedelta, timezone

import duckdb

from sentinel_pipeline import duck, features, ingest, lake, schema
from sentinel_pipeline.settings import Settings

T0 = datetime(2026, 11, 26, 0, tzinfo=timezone.utc)


def write_raw(settings: Settings, calls: list[tuple]) -> None:
    """calls: (a_number, b_number, minutes after T0, duration_s, record_type, cell_id[, service])."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create table raw ({schema.ddl(schema.STAGED_COLUMNS)})")
    for i, (a, b, minute, duration, record_type, cell, *service) in enumerate(calls):
        seizure = T0 + timedelta(minutes=minute)
        con.execute(
            "insert into raw (record_id, seizure_time, answer_time, duration_s, a_number, b_number, record_type, "
            "cell_id, service, hour) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"r{i}", seizure, seizure if duration else None, duration, a, b, record_type, cell,
             service[0] if service else "voice", seizure.replace(minute=0)],
        )
    for (hour,) in con.execute("select distinct hour from raw").fetchall():
        settings.lake.write_parquet(
            con, f"select {ingest.LAKE_COLUMNS} from raw where hour = timestamptz '{hour.isoformat()}'",
            lake.hour_key(ingest.ASSET, hour),
        )


def read_features(settings: Settings, hour: datetime) -> dict[str, dict]:
    relation = duckdb.sql(f"select * from '{settings.lake.url(lake.hour_key(features.ASSET, hour))}'")
    return {r[0]: dict(zip(relation.columns, r)) for r in relation.fetchall()}


def test_windows_count_calls_destinations_and_received_calls(tmp_path):
    settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path)})
    write_raw(
        settings,
        [
            ("+A", "+B1", 10, 0, "MOC", "c1"),  # hour 0
            ("+A", "+B2", 70, 20, "MOC", "c1"),  # hour 1
            ("+A", "+B1", 80, 2, "MOC", "c2"),  # hour 1, repeated destination
            ("+X", "+A", 75, 30, "MTC", "c9"),  # A receives a call in hour 1
            ("+A", "+B3", 60 * 23 + 5, 5, "IGW_IN", None),  # hour 23
            ("+A", "+B4", 60 * 24 + 5, 5, "MOC", "c1"),  # hour 24: hour 0 has left the 24 h window
            ("+A", "+B9", 60 * 24 + 6, 5, "MTC", "c1"),  # an MTC record is not a call A made
            ("+A", "+S1", 75, 0, "MOC", "c1", "sms"),  # texts are neither calls made...
            ("+S2", "+A", 76, 0, "MTC", "c1", "sms"),  # ...nor calls received
        ],
    )
    hours = [T0 + timedelta(hours=h) for h in (0, 1, 23, 24)]
    summary = features.build_feature_hours(settings, hours)
    assert summary.rows == 4  # A in each of its four active hours

    at1 = read_features(settings, hours[1])["+A"]
    assert (at1["calls_1h"], at1["distinct_callees_1h"], at1["received_calls_1h"]) == (2, 2, 1)
    assert (at1["calls_24h"], at1["distinct_callees_24h"], at1["distinct_cells_24h"]) == (3, 2, 2)
    assert at1["answered_calls_24h"] == 2 and at1["total_duration_s_24h"] == 22
    assert at1["avg_duration_s_24h"] == round(22 / 3, 3) and at1["short_calls_24h"] == 2
    assert at1["night_calls_24h"] == 3  # 00:00-05:59
    assert at1["first_call_24h"] == T0 + timedelta(minutes=10)

    at24 = read_features(settings, hours[3])["+A"]
    # Window 01:00 .. 24:59 — the 00:10 call to B1 is gone, the 01:20 one to B1 is still in.
    assert (at24["calls_24h"], at24["distinct_callees_24h"], at24["received_calls_24h"]) == (4, 4, 1)
    assert at24["first_call_24h"] == T0 + timedelta(minutes=70)
    assert at24["calls_1h"] == 1 and at24["distinct_cells_1h"] == 1


def test_hours_without_calls_get_an_empty_file(tmp_path):
    settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path)})
    summary = features.build_feature_hours(settings, [T0])
    assert summary.rows == 0
    assert read_features(settings, T0) == {}


def test_chunked_passes_give_the_same_features(tmp_path, monkeypatch):
    """Splitting the work by number (as a small memory limit does) must not change any feature."""
    calls = [(f"+A{i % 7}", f"+B{i % 13}", i * 7 % 1500, i % 40, "MOC", f"c{i % 3}") for i in range(400)]
    calls += [(f"+B{i % 13}", f"+A{i % 7}", i * 11 % 1500, 5, "MTC", "c1") for i in range(100)]
    hours = [T0 + timedelta(hours=h) for h in range(25)]
    results = []
    for chunks in (1, 5):
        settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path / str(chunks))})
        write_raw(settings, calls)
        monkeypatch.setattr(features, "_chunks_for", lambda *_, n=chunks: n)
        assert features.build_feature_hours(settings, hours).chunks == chunks
        results.append({h: read_features(settings, h) for h in hours})
    assert results[0] == results[1] and any(results[0].values())


def test_the_memory_limit_sets_the_number_of_chunks(tmp_path):
    def chunks(limit: str | None) -> int:
        env = {"SENTINEL_HOME": str(tmp_path), **({"SENTINEL_DUCKDB_MEMORY_LIMIT": limit} if limit else {})}
        with duck.connect(Settings.from_env(env)) as con:
            con.execute("create table raw as select range as i from range(2_500_000)")
            return features._chunks_for(con, "raw")

    assert chunks("4GB") == 1
    assert chunks("1GB") == 3
    assert chunks(None) == 1  # DuckDB's default: 80 % of this machine's memory

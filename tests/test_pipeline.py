"""End to end with real Dagster runs on a real PostgreSQL instance: generate → process → alerts."""

import csv
import os
import time
from datetime import datetime, timezone

import pytest

from sentinel_pipeline.cli.process import process_landing
from sentinel_pipeline.generator import generate

pytestmark = pytest.mark.slow
START = datetime(2026, 11, 20, tzinfo=timezone.utc)


def snapshot(conn) -> dict:
    return {
        "detections": conn.execute(
            "select detector, partition_hour, subject, severity, score, metrics::text from sentinel.detections order by 1, 2, 3"
        ).fetchall(),
        "alerts": conn.execute(
            "select alert_id, detector, subject, severity, score, first_seen, last_seen, evidence::text,"
            " status, reviewer_notes, updated_at from sentinel.alerts order by alert_id"
        ).fetchall(),
        "files": conn.execute("select file_id, path, status from sentinel.landed_files order by 1").fetchall(),
        "raw": conn.execute("select hour, input_fingerprint, rows_accepted from sentinel.raw_partitions order by 1").fetchall(),
    }


def labelled(path, *fraud_types) -> set[str]:
    with open(path, newline="") as fh:
        return {r["subject"] for r in csv.DictReader(fh) if r["fraud_type"] in fraud_types}


@pytest.fixture
def day(settings, tmp_path):
    labels = tmp_path / "labels.csv"
    generate(settings.landing.root, start=START, hours=24, subscribers=1500, seed=7, labels_path=labels, scenario="sdhf_only")
    return labels


def run_hours(settings, start_key: str, end_key: str, **config):
    import dagster as dg

    from sentinel_pipeline.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def("cdr_pipeline")
    run_config = {"ops": {"sdhf_detections": {"config": config}}} if config else None
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config=run_config,
            tags={"dagster/asset_partition_range_start": start_key, "dagster/asset_partition_range_end": end_key},
        )
    assert result.success


def test_generated_day_becomes_alerts_that_match_the_labels(settings, conn, day):
    summary = process_landing(settings)
    assert summary.runs and not summary.failed

    alerted = {s for (s,) in conn.execute("select subject from sentinel.alerts where detector = 'sdhf'").fetchall()}
    injected = labelled(day, "simbox_sdhf")
    assert injected and injected <= alerted
    # Anything else SDHF raises must be a known short-call, high-fan-out pattern, never ordinary traffic.
    assert alerted - injected <= labelled(day, "wangiri", "legit_call_centre")

    # Every row read was accepted, rejected or dropped as a duplicate.
    (read,) = conn.execute("select sum(rows_read) from sentinel.landed_files where status = 'registered'").fetchone()
    (accepted, rejected, dups) = conn.execute(
        "select sum(rows_accepted), sum(rows_rejected), sum(duplicates) from sentinel.raw_partitions"
    ).fetchone()
    assert accepted + rejected + dups == read

    # The runs are in the Dagster instance, where the UI reads them.
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert {r.run_id for r in runs} >= set(summary.runs)
        assert instance.get_latest_materialization_event(dg.AssetKey("alerts")) is not None

        # What the UI shows: each partition's row count, the column schema, code version and owners.
        from sentinel_pipeline.definitions import build_definitions

        graph = build_definitions(settings).resolve_asset_graph()
        (hour, accepted), = conn.execute(
            "select hour, rows_accepted from sentinel.raw_partitions where files > 0 order by hour limit 1"
        ).fetchall()
        from assets.partitions import partition_key_for

        import duckdb

        from sentinel_pipeline import lake

        callers = duckdb.sql(
            f"select count(*) from read_parquet('{settings.lake.root / lake.hour_key('caller_features', hour)}')"
        ).fetchall()[0][0]
        (found,) = conn.execute(
            "select count(*) from sentinel.detections where detector = 'sdhf' and partition_hour = %s", [hour]
        ).fetchone()
        for asset, expected_rows in [("raw_cdrs", accepted), ("caller_features", callers), ("sdhf_detections", found)]:
            key = dg.AssetKey(asset)
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition_key_for(hour)]), limit=1
            ).records
            assert records[0].asset_materialization.metadata["dagster/row_count"].value == expected_rows
            spec = graph.get(key)
            assert isinstance(spec.metadata["dagster/column_schema"], dg.TableSchema)
            assert spec.code_version and spec.owners

    # Processing the same landing directory again changes nothing.
    before = snapshot(conn)
    again = process_landing(settings)
    assert again.runs == [] and snapshot(conn) == before


def test_backfill_keeps_triage_and_never_duplicates(settings, conn, day):
    process_landing(settings)
    alert_id, subject = conn.execute(
        "select alert_id, subject from sentinel.alerts where detector = 'sdhf' order by alert_id limit 1"
    ).fetchone()
    conn.execute(
        "update sentinel.alerts set status = 'confirmed', reviewed = true, reviewer_notes = 'SIM box at Ikeja'"
        " where alert_id = %s",
        [alert_id],
    )
    before = snapshot(conn)

    # Back-fill the whole day in one run, then a few hours again in another.
    run_hours(settings, "2026-11-20-00:00", "2026-11-20-23:00")
    run_hours(settings, "2026-11-20-05:00", "2026-11-20-08:00")

    after = snapshot(conn)
    assert after["detections"] == before["detections"]
    assert [a[:8] for a in after["alerts"]] == [a[:8] for a in before["alerts"]]
    status, reviewed, notes = conn.execute(
        "select status, reviewed, reviewer_notes from sentinel.alerts where alert_id = %s", [alert_id]
    ).fetchone()
    assert (status, reviewed, notes) == ("confirmed", True, "SIM box at Ikeja")
    assert conn.execute(
        "select count(*) from sentinel.alerts where detector = 'sdhf' and subject = %s", [subject]
    ).fetchone() == (1,)


def test_sdhf_parameters_from_run_config(settings, conn, day):
    process_landing(settings)
    (default_count,) = conn.execute("select count(*) from sentinel.detections where detector = 'sdhf'").fetchone()
    run_hours(settings, "2026-11-20-00:00", "2026-11-20-23:00", min_unique_destinations=20, max_avg_duration_seconds=60.0)
    (loose_count,) = conn.execute("select count(*) from sentinel.detections where detector = 'sdhf'").fetchone()
    assert loose_count > default_count


def test_original_engine_csv_and_late_files(settings, conn):
    landing = settings.landing.root
    landing.mkdir(parents=True)
    rows = ["call_date,call_time,caller_number,callee_number,duration_seconds,call_direction,termination_cause,location_code"]
    # One number reaching 60 people in one-second calls within an hour: SDHF.
    rows += [f"2026-11-20,10:{i:02d}:00,08031110000,0806{i:07d},1,outgoing,16,LAG001" for i in range(60)]
    (landing / "legacy.csv").write_text("\n".join(rows) + "\n")
    old = time.time() - 60
    os.utime(landing / "legacy.csv", (old, old))
    process_landing(settings)
    assert conn.execute("select subject, severity::text from sentinel.alerts").fetchall() == [("+2348031110000", "MEDIUM")]

    # A late file for an earlier hour: the later windows that include it are recomputed as well.
    late = ["call_date,call_time,caller_number,callee_number,duration_seconds,call_direction,termination_cause,location_code"]
    late += [f"2026-11-20,08:{i:02d}:00,08031110000,0807{i:07d},1,outgoing,16,LAG001" for i in range(60)]
    (landing / "late.csv").write_text("\n".join(late) + "\n")
    os.utime(landing / "late.csv", (old, old))
    process_landing(settings)
    metrics = conn.execute(
        "select (metrics ->> 'distinct_destinations')::int from sentinel.detections"
        " where partition_hour = '2026-11-20 10:00+00'"
    ).fetchone()
    assert metrics == (120,)
    evidence = conn.execute("select evidence ->> 'distinct_destinations' from sentinel.alerts").fetchone()
    assert evidence == ("120",)

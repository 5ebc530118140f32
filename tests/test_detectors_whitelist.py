"""Whitelisted subjects never produce detections (so never alerts), for raw-CDR detectors and SDHF,
through the real runners writing to PostgreSQL."""

import dataclasses
import shutil

import duckdb

from sentinel_pipeline import features, lake, store
from sentinel_pipeline.detectors import sdhf, wangiri
from sentinel_pipeline.detectors.run import run_detector
from sentinel_pipeline.settings import PROJECT_ROOT
from tests.test_detectors import HOUR, ringing


def with_whitelist(settings, tmp_path, *lines):
    ref = tmp_path / "reference"
    shutil.copytree(PROJECT_ROOT / "reference", ref)
    with (ref / "whitelist.csv").open("a") as fh:
        for line in lines:
            fh.write(line + "\n")
    return dataclasses.replace(settings, reference_dir=ref)


def detections(conn, detector):
    return {
        row[0]: row[1]
        for row in conn.execute(
            "select subject, metrics from sentinel.detections where detector = %s", [detector]
        ).fetchall()
    }


def test_whitelisted_wangiri_number_is_not_detected(settings, conn, tmp_path):
    calls = ringing(25, a="+37369123456")
    calls.rows += ringing(25, a="+6777596388").rows
    calls.write_lake(settings)
    settings = with_whitelist(settings, tmp_path, "msisdn,+6777596388,test number of the fraud team")
    summary = run_detector(settings, conn, wangiri.SPEC, wangiri.WangiriParams(), [HOUR], "run-1")
    assert summary.detections == 1
    found = detections(conn, "wangiri")
    assert set(found) == {"+37369123456"}
    assert set(found["+37369123456"]["reference_versions"]) == {
        "trunks.csv", "number_ranges.csv", "high_risk_destinations.csv", "whitelist.csv", "roaming.csv"
    }
    store.refresh_alerts(conn, "wangiri", [HOUR])
    alerted = conn.execute("select subject from sentinel.alerts").fetchall()
    assert alerted == [("+37369123456",)]


def test_whitelisted_number_is_not_detected_by_sdhf(settings, conn, tmp_path):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        """create table f as select * from (values
            ('+2348030000101', 300, 1.0), ('+2348061111111', 300, 1.0)) v(caller, d, a)"""
    )
    settings.lake.write_parquet(
        con,
        f"""select caller, timestamptz '{HOUR.isoformat()}' as hour, d as distinct_callees_24h,
                   a as avg_duration_s_24h, d as calls_24h, 0 as answered_calls_24h,
                   1.0 as short_call_share_24h, 0 as received_calls_24h, 1 as distinct_cells_24h,
                   timestamptz '{HOUR.isoformat()}' as first_call_24h,
                   timestamptz '{HOUR.isoformat()}' as last_call_24h
            from f""",
        lake.hour_key(features.ASSET, HOUR),
    )
    # +2348030000101 is in the shipped whitelist (a call centre line)
    run_detector(settings, conn, sdhf.SPEC, sdhf.SdhfParams(), [HOUR], None)
    assert set(detections(conn, "sdhf")) == {"+2348061111111"}

"""sentinel.case_traffic and first_activity (migration 036) from real lake files on a real PostgreSQL:
every figure below is worked out by hand from the calls written."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from sentinel_pipeline.case_traffic import refresh_case_traffic
from sentinel_pipeline.lake import hour_key
from sentinel_pipeline.store import refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
H = T0 + timedelta(hours=5)
SIMS = ("+2348030000001", "+2348030000002")
IMEI = "358517040011232"


def det(subject: str, subject_type: str = "msisdn", **metrics) -> dict:
    return detection(H, subject, subject_type=subject_type, seen=(0, 59), metrics=metrics)


def write_hour(settings, hour: datetime, rows: list[tuple]) -> None:
    """(minute, a_number, a_valid, b_number, record_type, trunk_in, imsi, imei, duration_s[, cell_id])"""
    path = settings.lake.root / hour_key("raw_cdrs", hour)
    path.parent.mkdir(parents=True, exist_ok=True)
    def sql(v):
        return "null::varchar" if v is None else (str(v).lower() if isinstance(v, bool) else f"'{v}'")
    values = ", ".join(
        f"(timestamptz '{(hour + timedelta(minutes=m)).isoformat()}', {sql(a)}, {sql(valid)}, {sql(b)}, {sql(t)},"
        f" {sql(trunk)}, {sql(imsi)}, {sql(imei)}, {d}, {sql(cell[0] if cell else None)}, 1, {i})"
        for i, (m, a, valid, b, t, trunk, imsi, imei, d, *cell) in enumerate(rows)
    )
    duckdb.sql(f"copy (select * from (values {values}) v(seizure_time, a_number, a_valid, b_number, record_type,"
               f" trunk_in, imsi, imei, duration_s, cell_id, file_id, line)) to '{path}' (format parquet)")


@pytest.fixture
def cases(settings, conn) -> dict[str, int]:
    replace_detections(conn, "simbox_profile", [H], [*(det(s, shared_imeis=[IMEI]) for s in SIMS),
                                                     det(IMEI, "imei", msisdns=list(SIMS))], "r")
    refresh_alerts(conn, "simbox_profile", [H])
    replace_detections(conn, "cli_masking", [H], [det("INT_FRA01", "trunk")], "c")
    refresh_alerts(conn, "cli_masking", [H])
    write_hour(settings, T0 + timedelta(hours=3), [
        (12, SIMS[0], True, "+2348061000001", "MOC", None, "6213001", IMEI, 60),  # before the alerts' period
    ])
    b = "+2348031000001"
    write_hour(settings, H, [
        (1, SIMS[0], True, b, "MOC", None, "6213001", IMEI, 60),
        (2, SIMS[0], True, b, "MOC", None, "6213001", IMEI, 60),
        (3, SIMS[0], True, b, "MOC", None, "6213001", IMEI, 60),
        (4, SIMS[1], True, b, "MOC", None, "6213002", IMEI, 120),
        (5, SIMS[1], True, b, "MOC", None, "6213002", IMEI, 120),
        (6, "+2348061000002", True, SIMS[0], "MTC", None, "6213001", IMEI, 30),  # received: not the box's traffic
        (7, "+2348039000001", True, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 30),  # masked CLIs
        (8, "+2348039000002", True, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 30),
        (9, "+2348039000003", True, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 30),
        (10, "+2348039000004", True, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 30),
        (11, "+234819000001", False, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 60),  # invalid CLIs
        (12, "12345", False, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 60),
        (13, "+442071234567", True, "+2348061000003", "IGW_IN", "INT_FRA01", None, None, 600),  # a foreign CLI
    ])
    return dict(conn.execute("select subject, case_id from sentinel.alerts where subject in (%s, 'INT_FRA01')",
                             [IMEI]).fetchall())


def traffic(conn) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in conn.execute(
        "select case_id, hour, calls, minutes, masked_calls, invalid_cli_calls, round(estimated_loss::numeric, 4)::float,"
        " currency from sentinel.case_traffic order by 1, 2")}


def test_case_traffic_counts_each_call_once_and_prices_it(settings, conn, cases):
    summary = refresh_case_traffic(settings, conn, [H])
    assert summary["hours_read"] == 2 and summary["cases"] == 2
    # The box: 5 calls made by its SIMs (each through the handset, counted once), 7 minutes to 234803
    # (0.085 - 0.006 a minute). The trunk: 4 masked and 2 invalid CLIs, 4 minutes at Delta Carrier
    # Services' rate (0.095 - 0.006); the foreign CLI is not the trunk's fraud.
    assert traffic(conn) == {
        cases[IMEI]: (H, 5, 7.0, 0, 0, pytest.approx(7 * 0.079), "USD"),
        cases["INT_FRA01"]: (H, 6, 4.0, 4, 2, pytest.approx(4 * 0.089), "USD"),
    }
    losses = conn.execute("select case_id, minutes, estimated_loss from sentinel.case_losses order by 1").fetchall()
    assert [(c, float(m)) for c, m, _ in losses] == [(cases[IMEI], 7.0), (cases["INT_FRA01"], 4.0)]

    before = traffic(conn)
    refresh_case_traffic(settings, conn, [H])  # a re-run
    refresh_case_traffic(settings, conn, [T0 + timedelta(hours=3)])  # a back-fill of an earlier hour
    assert traffic(conn) == before


def test_first_activity_and_time_to_detect(settings, conn, cases):
    refresh_case_traffic(settings, conn, [H])
    rows = dict(((d, s), (f, e, delay)) for d, s, f, e, delay in conn.execute(
        "select detector, subject, first_activity, first_detected_end, detection_delay from sentinel.time_to_detect"))
    # SIM 1 was active two hours before the alerts' period; SIM 2 first called at 05:04; the trunk's first
    # suspect call is its alert's first_seen.
    assert rows[("simbox_profile", SIMS[0])] == (T0 + timedelta(hours=3, minutes=12), H + timedelta(hours=1),
                                                 timedelta(hours=2, minutes=48))
    assert rows[("simbox_profile", SIMS[1])][0] == H
    assert rows[("cli_masking", "INT_FRA01")][0] == H


def test_without_rates_the_loss_is_unknown(settings, conn, cases, tmp_path, monkeypatch):
    import shutil

    from sentinel_pipeline.settings import PROJECT_ROOT, Settings

    shutil.copytree(PROJECT_ROOT / "reference", tmp_path / "ref")
    (tmp_path / "ref" / "rates.csv").unlink()
    monkeypatch.setenv("SENTINEL_REFERENCE_DIR", str(tmp_path / "ref"))
    refresh_case_traffic(Settings.from_env(), conn, [H])
    assert {(loss, currency) for *_, loss, currency in traffic(conn).values()} == {(None, None)}


def test_sims_calling_from_one_cell_join_one_case(settings, conn):
    """A box with one IMEI per SIM: SDHF alerts on its SIMs have nothing in common but their cell."""
    sims = ("+2348030000011", "+2348030000012", "+2348030000013")
    replace_detections(conn, "sdhf", [H], [det(s) for s in sims] + [det("+2348030000099")], "r")
    refresh_alerts(conn, "sdhf", [H])
    assert conn.execute("select count(distinct case_id) from sentinel.alerts").fetchone() == (4,)
    write_hour(settings, H, [
        *((m, s, True, "+2348061000001", "MOC", None, f"62130{m}", f"35851704001123{m}", 20, "LAG-0042")
          for m, s in enumerate(sims)),
        (5, "+2348030000099", True, "+2348061000001", "MOC", None, "6213009", "358517040011239", 20, "LAG-0042"),
        (6, "+2348030000099", True, "+2348061000001", "MOC", None, "6213009", "358517040011239", 20, "ABJ-0001"),
    ])
    refresh_case_traffic(settings, conn, [H])
    cases = dict(conn.execute("select subject, case_id from sentinel.alerts").fetchall())
    assert len({cases[s] for s in sims}) == 1
    assert cases["+2348030000099"] != cases[sims[0]]  # it also called from another cell
    (calls,) = conn.execute("select calls from sentinel.case_traffic where case_id = %s", [cases[sims[0]]]).fetchone()
    assert calls == 3

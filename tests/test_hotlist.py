"""The hotlist (migration 034) and the hotlist detector on a real PostgreSQL and real lake files: a
confirmed case lists its subjects, later activity raises alerts that join that case."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import psycopg
import pytest

from sentinel_pipeline.detectors import hotlist
from sentinel_pipeline.detectors.run import run_detector
from sentinel_pipeline.lake import hour_key
from sentinel_pipeline.store import refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
SIMS = ("+2348030000001", "+2348030000002")
IMEI = "358517040011232"


def det(subject: str, subject_type: str = "msisdn", **metrics) -> dict:
    return detection(T0, subject, subject_type=subject_type, metrics=metrics)


def confirmed_box(conn) -> int:
    replace_detections(conn, "simbox_profile", [T0], [*(det(s, shared_imeis=[IMEI]) for s in SIMS),
                                                      det(IMEI, "imei", msisdns=list(SIMS))], "r")
    refresh_alerts(conn, "simbox_profile", [T0])
    (case_id,) = conn.execute("select distinct case_id from sentinel.alerts").fetchone()
    conn.execute("select set_config('sentinel.reviewer', 'ada', false)")
    conn.execute("update sentinel.cases set status = 'confirmed', reviewed = true where case_id = %s", [case_id])
    return case_id


def write_hour(settings, hour: datetime, rows: list[tuple]) -> None:
    """A raw_cdrs lake hour: (minute, a_number, b_number, record_type, imsi, imei, duration_s)."""
    path = settings.lake.root / hour_key("raw_cdrs", hour)
    path.parent.mkdir(parents=True, exist_ok=True)
    def sql(v):
        return "null" if v is None else f"'{v}'"
    values = ", ".join(
        f"(timestamptz '{(hour + timedelta(minutes=m)).isoformat()}', {sql(a)}, {sql(b)}, {sql(t)}, {sql(imsi)},"
        f" {sql(imei)}, {d}, 1, {i})"
        for i, (m, a, b, t, imsi, imei, d) in enumerate(rows)
    )
    duckdb.sql(f"copy (select * from (values {values}) v(seizure_time, a_number, b_number, record_type, imsi, imei,"
               f" duration_s, file_id, line)) to '{path}' (format parquet)")


def test_confirming_a_case_lists_its_subjects(conn):
    case_id = confirmed_box(conn)
    entries = conn.execute("select subject_type, value, case_id, since, added_by from sentinel.active_hotlist"
                           " order by 1, 2").fetchall()
    since = T0 + timedelta(minutes=50)
    assert entries == [("imei", IMEI, case_id, since, "ada")] + [("msisdn", s, case_id, since, "ada") for s in SIMS]
    conn.execute("update sentinel.cases set status = 'false_positive' where case_id = %s", [case_id])
    assert conn.execute("select count(*) from sentinel.active_hotlist").fetchone() == (0,)
    assert conn.execute("select count(*), min(removed_by) from sentinel.hotlist").fetchone() == (3, "ada")


def test_later_activity_raises_alerts_linked_to_the_case(settings, conn):
    case_id = confirmed_box(conn)
    # Entries by hand: activity after their `since` counts (default: from now on).
    conn.execute("insert into sentinel.hotlist (subject_type, value, since, reason) values"
                 " ('range', '23490777', %(t0)s, 'resold range'), ('tac', '86012345', %(t0)s, 'box model'),"
                 " ('msisdn', '+2348039999999', %(later)s, 'listed from later')",
                 {"t0": T0, "later": T0 + timedelta(days=9)})
    hour = T0 + timedelta(hours=6)
    write_hour(settings, hour, [
        (1, SIMS[0], "+2348061111111", "MOC", "621300000000001", IMEI, 30),   # a listed SIM in its listed box
        (2, SIMS[0], "+2348061111112", "MOC", "621300000000001", IMEI, 90),
        (3, "+2348061111113", SIMS[1], "MOC", None, None, 60),               # a call *to* a listed SIM: not its activity
        (4, "+2349077700001", "+2348061111114", "IGW_IN", None, None, 10),   # a number of the listed range
        (5, "+2348035555555", "+2348061111115", "MOC", "621300000000009", "860123450000001", 20),  # TAC
        (6, "+2348039999999", "+2348061111116", "MOC", None, None, 20),      # listed, but only from later
        (7, "+2348034444444", "+2348061111117", "MOC", None, None, 20),      # not listed
    ])
    summary = run_detector(settings, conn, hotlist.SPEC, hotlist.SPEC.default_params, [hour], "run-6")
    assert summary.detections == 4
    refresh_alerts(conn, "hotlist", [hour])

    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    alerts = {(a["subject_type"], a["subject"]): a for a in cur.execute(
        "select * from sentinel.alerts where detector = 'hotlist'")}
    assert set(alerts) == {("msisdn", SIMS[0]), ("imei", IMEI), ("msisdn", "+2349077700001"),
                           ("imei", "860123450000001")}
    sim = alerts[("msisdn", SIMS[0])]["evidence"]
    assert (sim["calls"], sim["minutes"], sim["listed_as"], sim["case_id"]) == (2, 2.0, [f"msisdn:{SIMS[0]}"], case_id)
    assert alerts[("msisdn", "+2349077700001")]["evidence"]["listed_as"] == ["range:23490777"]
    # The box's hits join the confirmed case and escalate it; the others have cases of their own.
    assert alerts[("msisdn", SIMS[0])]["case_id"] == alerts[("imei", IMEI)]["case_id"] == case_id
    assert alerts[("imei", "860123450000001")]["case_id"] != case_id
    status, reviewed, last_event = conn.execute(
        "select status, reviewed, last_event from sentinel.cases where case_id = %s", [case_id]).fetchone()
    assert (status, reviewed, last_event) == ("confirmed", False, "escalated")


def test_bad_entries_are_refused_with_the_reason(conn):
    for kind, value, constraint in [("msisdn", "08031234567", "hotlist_msisdn_is_e164"),
                                    ("tac", "8601234", "hotlist_tac_is_8_digits"),
                                    ("range", "+234", "hotlist_range_is_e164_digits")]:
        with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
            conn.execute("insert into sentinel.hotlist (subject_type, value) values (%s, %s)", [kind, value])
    conn.execute("insert into sentinel.hotlist (subject_type, value) values ('imei', %s)", [IMEI])
    with pytest.raises(psycopg.errors.UniqueViolation, match="hotlist_active"):
        conn.execute("insert into sentinel.hotlist (subject_type, value) values ('imei', %s)", [IMEI])


@pytest.fixture
def analyst(database_url):
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("set role sentinel_analyst")
        yield c


def test_the_analyst_lists_and_removes_but_cannot_forge_who(conn, analyst):
    analyst.execute("select set_config('sentinel.reviewer', 'bob', false)")
    analyst.execute("insert into sentinel.hotlist (subject_type, value, reason) values ('imsi', '621300000000001', 'x')")
    analyst.execute("update sentinel.hotlist set removed_at = now() where value = '621300000000001'")
    assert conn.execute("select added_by, removed_by from sentinel.hotlist").fetchone() == ("bob", "bob")
    for statement in ("insert into sentinel.hotlist (subject_type, value, added_by) values ('imsi', '621300000000002', 'eve')",
                      "update sentinel.hotlist set removed_by = 'eve'", "delete from sentinel.hotlist"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(statement)


def test_the_cli_adds_lists_and_removes(settings, conn, capsys):
    import json

    from sentinel_pipeline import cli

    assert cli.main(["hotlist", "add", "tac", "86012345", "--since", "2024-03-01T00:00Z", "--reason", "box model",
                     "--reviewer", "ada"]) == 0
    assert "hotlist entry 1: tac 86012345" in capsys.readouterr().out
    assert cli.main(["hotlist", "add", "msisdn", "08031234567"]) == 1
    assert "hotlist_msisdn_is_e164" in capsys.readouterr().err
    assert cli.main(["hotlist", "add", "tac", "86012345"]) == 1
    assert "on the hotlist already" in capsys.readouterr().err
    assert cli.main(["hotlist", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["value"], entry["added_by"], entry["since"]) == ("86012345", "ada", "2024-03-01T00:00:00+00:00")
    assert cli.main(["hotlist", "remove", "1", "--reviewer", "bob"]) == 0
    assert cli.main(["hotlist", "list"]) == 0
    assert "the hotlist is empty" in capsys.readouterr().out
    assert conn.execute("select removed_by from sentinel.hotlist").fetchone() == ("bob",)

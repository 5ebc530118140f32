"""Actions with two-person approval (migration 035) on a real PostgreSQL: a confirmed case proposes its
bar list, a second person approves, the approved list is exported, published and un-barred."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import psycopg
import pytest

from sentinel_pipeline import cli
from sentinel_pipeline.store import refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
SIMS = ("+2348030000001", "+2348030000002")
IMEI = "358517040011232"


def det(subject: str, subject_type: str = "msisdn", **metrics) -> dict:
    return detection(T0, subject, subject_type=subject_type, metrics=metrics)


def as_user(conn, name: str) -> None:
    conn.execute("select set_config('sentinel.reviewer', %s, false)", [name])


def confirmed_case(conn) -> int:
    replace_detections(conn, "simbox_profile", [T0], [*(det(s, shared_imeis=[IMEI]) for s in SIMS),
                                                      det(IMEI, "imei", msisdns=list(SIMS))], "r")
    refresh_alerts(conn, "simbox_profile", [T0])
    replace_detections(conn, "cli_masking", [T0], [det("INT_FRA01", "trunk")], "c")
    refresh_alerts(conn, "cli_masking", [T0])
    (case_id,) = conn.execute("select case_id from sentinel.alerts where subject = %s", [IMEI]).fetchone()
    as_user(conn, "ada")
    conn.execute("update sentinel.cases set status = 'confirmed', reviewed = true where case_id = %s", [case_id])
    return case_id


def pending(conn) -> list[tuple]:
    return conn.execute("select action, target_type, target, element, proposed_by from sentinel.pending_actions"
                        " order by target_type, target").fetchall()


def test_confirming_proposes_and_a_second_person_approves(conn, database_url):
    case_id = confirmed_case(conn)
    assert pending(conn) == [("block", "imei", IMEI, "EIR", "ada")] + [("bar", "msisdn", s, "HLR", "ada") for s in SIMS]

    with pytest.raises(psycopg.errors.CheckViolation, match="actions_decided_by_a_second_person"):
        conn.execute("update sentinel.actions set status = 'approved'")
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("listen sentinel_actions")
        as_user(conn, "bob")
        conn.execute("update sentinel.actions set status = 'approved', decision_note = 'ok' where target_type = 'msisdn'")
        events = [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]
    assert sorted((e["action"], e["target"], e["proposed_by"], e["approved_by"], e["case_id"]) for e in events) == [
        ("bar", s, "ada", "bob", case_id) for s in SIMS]
    assert conn.execute("select target, approved_by from sentinel.bar_list order by 1").fetchall() == [
        (s, "bob") for s in SIMS]
    # A decided action does not change again.
    with pytest.raises(psycopg.errors.CheckViolation, match="was approved by bob and cannot change"):
        conn.execute("update sentinel.actions set status = 'rejected' where target = %s", [SIMS[0]])
    # Confirming again (after a reopen) proposes nothing for what is barred or still waiting.
    conn.execute("update sentinel.cases set status = 'open' where case_id = %s", [case_id])
    conn.execute("update sentinel.cases set status = 'confirmed' where case_id = %s", [case_id])
    assert conn.execute("select count(*) from sentinel.actions").fetchone() == (3,)


def test_unbarring_is_an_action_that_lifts_the_bar_and_the_hotlist(conn):
    case_id = confirmed_case(conn)
    as_user(conn, "bob")
    conn.execute("update sentinel.actions set status = 'approved' where target = %s", [SIMS[0]])
    as_user(conn, "bob")
    conn.execute("insert into sentinel.actions (case_id, action, target_type, target, reason)"
                 " values (%s, 'unbar', 'msisdn', %s, 'customer proved ownership')", [case_id, SIMS[0]])
    as_user(conn, "ada")
    conn.execute("update sentinel.actions set status = 'approved' where action = 'unbar'")
    assert conn.execute("select count(*) from sentinel.bar_list").fetchone() == (0,)
    assert conn.execute("select count(*) from sentinel.active_hotlist where value = %s", [SIMS[0]]).fetchone() == (0,)
    assert conn.execute("select removed_by from sentinel.hotlist where value = %s", [SIMS[0]]).fetchone() == ("ada",)
    assert [a for (a,) in conn.execute("select action from sentinel.approved_actions order by approved_at")] == [
        "bar", "unbar"]


def test_the_cli_proposes_approves_and_exports(settings, conn, capsys, tmp_path):
    case_id = confirmed_case(conn)
    assert cli.main(["actions", "propose", str(case_id), "block", "range", "23490777", "--reason", "resold range",
                     "--reviewer", "ada"]) == 0
    assert "at the SBC" in capsys.readouterr().out
    assert cli.main(["actions", "approve", "4", "--reviewer", "ada"]) == 1
    assert "actions_decided_by_a_second_person" in capsys.readouterr().err
    ids = [str(i) for (i,) in conn.execute("select action_id from sentinel.actions order by 1")]
    assert cli.main(["actions", "approve", *ids, "--reviewer", "bob", "--note", "checked"]) == 0
    capsys.readouterr()

    out = tmp_path / "bar.csv"
    assert cli.main(["actions", "export", "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["action"], r["target_type"], r["target"], r["element"], r["approved_by"]) for r in rows] == [
        ("block", "imei", IMEI, "EIR", "bob"), *[("bar", "msisdn", s, "HLR", "bob") for s in SIMS],
        ("block", "range", "23490777", "SBC", "bob")]
    assert cli.main(["actions", "export", "--format", "jsonl", "--after", ids[2]]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["target"] == "23490777" and json.loads(line)["case_id"] == case_id
    assert cli.main(["actions", "list", "--status", "approved", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


@pytest.fixture
def analyst(database_url):
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("set role sentinel_analyst")
        yield c


def test_the_analyst_proposes_and_decides_but_cannot_forge_who(conn, analyst):
    case_id = confirmed_case(conn)
    as_user(analyst, "carol")
    analyst.execute("update sentinel.actions set status = 'approved' where target = %s", [IMEI])
    assert conn.execute("select decided_by from sentinel.actions where target = %s", [IMEI]).fetchone() == ("carol",)
    analyst.execute("insert into sentinel.actions (case_id, action, target_type, target) values (%s, 'ticket', 'trunk', 'INT_FRA01')",
                    [case_id])
    for statement in ("update sentinel.actions set decided_by = 'ada'", "update sentinel.actions set target = '+1'",
                      "delete from sentinel.actions",
                      "insert into sentinel.actions (case_id, action, target_type, target, proposed_by)"
                      " values (1, 'bar', 'msisdn', '+2348030000009', 'ada')"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(statement)
    for view in ("approved_actions", "bar_list", "pending_actions"):
        analyst.execute(f"select * from sentinel.{view}")

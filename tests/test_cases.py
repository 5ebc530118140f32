"""sentinel.cases on a real PostgreSQL: grouping alerts into cases, stability over re-runs, the case
lifecycle, the audit trail (migration 033) and the analyst role's grants on cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from sentinel_pipeline.store import refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
SEVERITY_FOR = {0.3: "LOW", 0.5: "MEDIUM", 0.7: "HIGH", 0.9: "CRITICAL"}


def det(h: int, subject: str, score: float = 0.5, subject_type: str = "msisdn", **metrics) -> dict:
    return detection(T0 + timedelta(hours=h), subject, subject_type=subject_type, severity=SEVERITY_FOR[score],
                     score=score, metrics=metrics)


def run(conn, detector: str, h: int, *rows: dict) -> None:
    hours = [T0 + timedelta(hours=h)]
    replace_detections(conn, detector, hours, list(rows), f"run-{h}")
    refresh_alerts(conn, detector, hours)


SIMS = ("+2348030000001", "+2348030000002", "+2348030000003")


def box_hour(conn, h: int, sims=SIMS, imei="358517040011232", extra: tuple = ()) -> None:
    """One SIM box as the detectors see it: SDHF on each SIM, simbox_profile on each SIM (sharing the
    handset) and on the handset (listing its SIMs); and an unrelated number."""
    run(conn, "sdhf", h, *[det(h, s, 0.7) for s in sims], det(h, "+2348030000009", 0.5), *extra)
    run(conn, "simbox_profile", h, *[det(h, s, 0.5, shared_imeis=[imei]) for s in sims],
        det(h, imei, 0.9, "imei", msisdns=list(sims), imsis=len(sims)))


def cases_by_alert(conn) -> dict[tuple, int]:
    return {(d, s): c for d, s, c in conn.execute("select detector, subject, case_id from sentinel.alerts")}


def case(conn, case_id: int) -> dict:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute("select * from sentinel.cases where case_id = %s", [case_id]).fetchone()


def test_the_sims_and_handset_of_one_box_share_a_case(conn):
    box_hour(conn, 0)
    run(conn, "cli_masking", 0, det(0, "INT_FRA01", 0.9, "trunk"))
    run(conn, "invalid_cli", 0, det(0, "INT_FRA01", 0.5, "trunk"))
    cases = cases_by_alert(conn)
    assert None not in cases.values()
    box = cases[("simbox_profile", "358517040011232")]
    assert {k for k, c in cases.items() if c == box} == {
        (d, s) for d in ("sdhf", "simbox_profile") for s in SIMS
    } | {("simbox_profile", "358517040011232")}
    assert cases[("cli_masking", "INT_FRA01")] == cases[("invalid_cli", "INT_FRA01")] != box
    assert len(set(cases.values())) == 3  # the box, the trunk, the unrelated number

    c = case(conn, box)
    assert (c["kind"], c["label"], c["severity"], c["alert_count"], c["status"], c["priority"]) == (
        "simbox", "imei 358517040011232", "CRITICAL", 7, "open", 1)
    assert c["detectors"] == ["sdhf", "simbox_profile"]
    trunk = case(conn, cases[("cli_masking", "INT_FRA01")])
    assert (trunk["kind"], trunk["label"], trunk["alert_count"]) == ("trunk", "trunk INT_FRA01", 2)
    number = case(conn, cases[("sdhf", "+2348030000009")])
    assert (number["kind"], number["priority"]) == ("number", 3)
    overview = conn.execute("select msisdns, imeis, trunks, open_alerts from sentinel.case_overview where case_id = %s",
                            [box]).fetchone()
    assert overview == (3, 1, 0, 7)


def test_reruns_and_backfills_keep_cases_and_a_new_sim_joins_its_box(conn):
    box_hour(conn, 5)
    before = cases_by_alert(conn)
    (count,) = conn.execute("select count(*) from sentinel.cases").fetchone()
    box_hour(conn, 5)  # the same hour again
    box_hour(conn, 2)  # a back-fill of an earlier hour
    assert cases_by_alert(conn) == before
    assert conn.execute("select count(*) from sentinel.cases").fetchone() == (count,)
    box = before[("simbox_profile", "358517040011232")]
    assert case(conn, box)["first_seen"] == T0 + timedelta(hours=2, minutes=5)

    # A fourth SIM appears in the handset: its alerts join the box's case.
    box_hour(conn, 6, sims=(*SIMS, "+2348030000004"))
    after = cases_by_alert(conn)
    assert after[("sdhf", "+2348030000004")] == after[("simbox_profile", "+2348030000004")] == box
    history = conn.execute(
        "select field, new_value from sentinel.case_history where case_id = %s and field = 'alert_added'"
        " and new_value like '%%+2348030000004%%' order by change_id", [box]
    ).fetchall()
    assert [f for f, _ in history] == ["alert_added", "alert_added"]


def test_a_link_merges_unworked_cases_but_never_two_worked_ones(conn):
    run(conn, "sdhf", 0, det(0, "+2348030000001", 0.7), det(0, "+2348030000002", 0.7), det(0, "+2348030000003", 0.7))
    first, second, third = (cases_by_alert(conn)[("sdhf", s)] for s in ("+2348030000001", "+2348030000002", "+2348030000003"))
    assert len({first, second, third}) == 3
    conn.execute("update sentinel.cases set assignee = 'ada' where case_id in (%s, %s)", [first, second])

    run(conn, "simbox_profile", 1, det(1, "358517040011232", 0.9, "imei", msisdns=["+2348030000001", "+2348030000002", "+2348030000003"]))
    cases = cases_by_alert(conn)
    # the handset and the unworked SIM's alert go to the oldest worked case; the other worked case stays
    oldest, other = sorted([first, second])
    assert cases[("simbox_profile", "358517040011232")] == cases[("sdhf", "+2348030000003")] == oldest
    assert cases[("sdhf", "+2348030000001")] == first and cases[("sdhf", "+2348030000002")] == second
    assert conn.execute("select merged_into from sentinel.cases where case_id = %s", [third]).fetchone() == (oldest,)
    assert case(conn, oldest)["alert_count"] == 3
    listed = {c for (c,) in conn.execute("select case_id from sentinel.case_overview")}
    assert listed == {first, second}


def test_analyst_changes_are_audited_and_passed_to_the_alerts(conn):
    box_hour(conn, 0)
    box = cases_by_alert(conn)[("simbox_profile", "358517040011232")]
    conn.execute("select set_config('sentinel.reviewer', 'ada', false)")
    conn.execute("update sentinel.cases set assignee = 'ada', priority = 2 where case_id = %s", [box])
    conn.execute("update sentinel.cases set status = 'confirmed', reviewed = true, notes = 'box at Ikeja'"
                 " where case_id = %s", [box])
    c = case(conn, box)
    assert (c["status"], c["reviewed_by"], c["assignee"], c["priority"]) == ("confirmed", "ada", "ada", 2)
    history = conn.execute(
        "select changed_by, actor, field, old_value, new_value from sentinel.case_history"
        " where case_id = %s and actor = 'analyst' order by change_id", [box]
    ).fetchall()
    assert history == [
        ("ada", "analyst", "priority", "1", "2"),
        ("ada", "analyst", "assignee", None, "ada"),
        ("ada", "analyst", "status", "open", "confirmed"),
        ("ada", "analyst", "notes", None, "box at Ikeja"),
        ("ada", "analyst", "reviewed", "false", "true"),
    ]
    statuses = conn.execute("select distinct status, reviewed, reviewed_by from sentinel.alerts where case_id = %s",
                            [box]).fetchall()
    assert statuses == [("confirmed", True, "ada")]


def test_the_case_lifecycle_follows_its_alerts(conn):
    box_hour(conn, 0)
    cases = cases_by_alert(conn)
    box, number = cases[("simbox_profile", "358517040011232")], cases[("sdhf", "+2348030000009")]
    conn.execute("update sentinel.cases set status = 'confirmed', reviewed = true where case_id = %s", [box])
    conn.execute("update sentinel.cases set status = 'closed', reviewed = true where case_id = %s", [number])

    box_hour(conn, 0)  # the same hour again: no verdict changes
    assert (case(conn, box)["status"], case(conn, box)["reviewed"]) == ("confirmed", True)
    assert (case(conn, number)["status"], case(conn, number)["last_event"]) == ("closed", "new")

    box_hour(conn, 3)  # activity after the cases' last_seen
    c, n = case(conn, box), case(conn, number)
    assert (c["status"], c["reviewed"], c["last_event"]) == ("confirmed", False, "escalated")
    assert (n["status"], n["reviewed"], n["last_event"]) == ("open", False, "reopened")
    pipeline = conn.execute(
        "select changed_by, field, old_value, new_value from sentinel.case_history"
        " where case_id = %s and actor = 'pipeline' and field = 'status'", [number]
    ).fetchall()
    assert pipeline == [("pipeline", "status", "closed", "open")]


def test_false_positive_case_whitelists_its_subjects_and_stays_quiet(conn):
    run(conn, "sdhf", 0, det(0, "+2348030000009", 0.5))
    (number,) = conn.execute("select case_id from sentinel.alerts").fetchone()
    conn.execute("update sentinel.cases set status = 'false_positive', reviewed = true where case_id = %s", [number])
    assert conn.execute("select subject from sentinel.active_suppressions").fetchall() == [("+2348030000009",)]
    run(conn, "sdhf", 4, det(4, "+2348030000009", 0.9))
    assert (case(conn, number)["status"], case(conn, number)["reviewed"]) == ("false_positive", True)


@pytest.fixture
def analyst(database_url):
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("set role sentinel_analyst")
        yield c


def test_the_analyst_works_cases_but_cannot_forge_facts_or_history(conn, analyst):
    box_hour(conn, 0)
    (box,) = conn.execute("select case_id from sentinel.alerts where subject = '358517040011232'").fetchone()
    analyst.execute("update sentinel.cases set assignee = 'bob', status = 'investigating', notes = 'on it'"
                    " where case_id = %s", [box])
    assert analyst.execute("select status from sentinel.alerts where case_id = %s limit 1", [box]).fetchone() == (
        "investigating",)
    assert analyst.execute("select count(*) from sentinel.case_history where field = 'assignee'").fetchone() == (1,)
    for statement in ("update sentinel.cases set severity = 'LOW'", "update sentinel.cases set label = 'x'",
                      "delete from sentinel.cases", "delete from sentinel.case_history",
                      "update sentinel.case_history set changed_by = 'someone else'",
                      "insert into sentinel.case_history (case_id, changed_by, actor, field) values (1, 'x', 'analyst', 'status')",
                      "update sentinel.alerts set case_id = null",
                      "select * from sentinel.refresh_cases(true)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(statement)
    for view in ("case_overview", "case_members", "case_history"):
        analyst.execute(f"select * from sentinel.{view}")


def test_the_cli_lists_shows_assigns_and_reviews_cases(settings, conn, capsys):
    import json

    from sentinel_pipeline import cli

    box_hour(conn, 0)
    (box,) = conn.execute("select case_id from sentinel.alerts where subject = '358517040011232'").fetchone()

    assert cli.main(["cases", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["case_id"] for c in listed][0] == box
    assert (listed[0]["kind"], listed[0]["msisdns"], listed[0]["imeis"]) == ("simbox", 3, 1)

    assert cli.main(["cases", "assign", str(box), "ada", "--reviewer", "lead"]) == 0
    assert "assigned to ada by lead" in capsys.readouterr().out
    assert cli.main(["cases", "review", str(box), "--status", "investigating", "--priority", "2",
                     "--notes", "asked the MNO", "--reviewer", "ada"]) == 0
    assert "status investigating, priority 2, reviewed by ada" in capsys.readouterr().out

    assert cli.main(["cases", "show", str(box), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {a["status"] for a in shown["alerts"]} == {"investigating"} and len(shown["alerts"]) == 7
    assert [(h["changed_by"], h["field"], h["new_value"]) for h in shown["history"] if h["actor"] == "analyst"] == [
        ("lead", "assignee", "ada"), ("ada", "status", "investigating"), ("ada", "priority", "2"),
        ("ada", "notes", "asked the MNO"), ("ada", "reviewed", "true")]
    assert cli.main(["cases", "show", str(box)]) == 0
    out = capsys.readouterr().out
    assert "imei 358517040011232" in out and "alerts (7):" in out

    assert cli.main(["cases", "list", "--status", "active", "--assignee", "-"]) == 0
    out = capsys.readouterr().out
    assert "+2348030000009" in out and "358517040011232" not in out
    assert cli.main(["cases", "show", "999"]) == 1
    assert "no case 999" in capsys.readouterr().err

"""`sentinel alerts list|show|review|watch|suppressions`, and an analyst's case from list to review through
the real pipeline, surviving a back-fill, with a psql LISTEN session watching."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import duckdb
import psycopg
import pytest

from sentinel_pipeline import cli
from sentinel_pipeline.lake import hour_key
from sentinel_pipeline.settings import PROJECT_ROOT
from sentinel_pipeline.store import NOTIFY_CHANNEL, refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, 10, tzinfo=timezone.utc)


def det(h: int, subject: str, score: float, severity: str, subject_type: str = "msisdn") -> dict:
    return detection(T0 + timedelta(hours=h), subject, subject_type=subject_type, severity=severity, score=score,
                     seen=(10, 40), metrics={"distinct_destinations": 77, "avg_duration_s": 1.4})


def seed(conn) -> dict[str, int]:
    replace_detections(conn, "sdhf", [T0], [det(0, "+2341", 0.9, "CRITICAL"), det(0, "+2342", 0.5, "MEDIUM")], "r")
    refresh_alerts(conn, "sdhf", [T0])
    replace_detections(conn, "cli_masking", [T0], [det(0, "TG-IGW-1", 0.7, "HIGH", "trunk")], "c")
    refresh_alerts(conn, "cli_masking", [T0])
    return dict(conn.execute("select subject, alert_id from sentinel.alerts").fetchall())


def write_lake_hour(settings, hour: datetime, rows: list[tuple]) -> None:
    """A raw_cdrs lake file with the columns `alerts show` reads:
    (minute, a_number, b_number, trunk_in[, trunk_out])."""
    path = settings.lake.root / hour_key("raw_cdrs", hour)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = ", ".join(
        f"(timestamptz '{(hour + timedelta(minutes=m)).isoformat()}', 1, '{a}', '{b}', 'MOC', '{t}', '{out[0] if out else ''}',"
        f" 'c1', 16, 1, {i})"
        for i, (m, a, b, t, *out) in enumerate(rows)
    )
    duckdb.sql(
        f"copy (select * from (values {values}) v(seizure_time, duration_s, a_number, b_number, record_type,"
        f" trunk_in, trunk_out, cell_id, release_cause, file_id, line)) to '{path}' (format parquet)"
    )


def run_cli(capsys, *args) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().out


def test_list_filters_and_json(settings, conn, capsys):
    ids = seed(conn)
    code, out = run_cli(capsys, "alerts", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["alert_id", "detector", "subject_type", "subject"]
    assert [line.split()[3] for line in lines[2:5]] == ["+2341", "TG-IGW-1", "+2342"]  # most severe first

    def listed(*args) -> list[str]:
        code, out = run_cli(capsys, "alerts", "list", "--json", *args)
        assert code == 0
        return [a["subject"] for a in json.loads(out)]

    assert listed("--detector", "sdhf") == ["+2341", "+2342"]
    assert listed("--severity", "high", "--severity", "medium") == ["TG-IGW-1", "+2342"]
    assert listed("--min-severity", "HIGH") == ["+2341", "TG-IGW-1"]
    assert listed("--subject", "+234%") == ["+2341", "+2342"]
    assert listed("--limit", "1") == ["+2341"]
    assert listed("--since", "2024-03-01T11:00:00Z") == []
    assert listed("--until", "2024-03-01T10:00:00Z") == []
    assert listed("--since", "2024-03-01T10:30:00Z", "--until", "2024-03-01T10:30:00Z") == ["+2341", "TG-IGW-1", "+2342"]
    conn.execute("update sentinel.alerts set status = 'investigating' where alert_id = %s", [ids["+2342"]])
    assert listed("--status", "investigating") == ["+2342"]
    assert listed("--status", "active", "--unreviewed", "--detector", "sdhf") == ["+2341", "+2342"]
    assert listed("--reviewed") == []
    first = json.loads(run_cli(capsys, "alerts", "list", "--json", "--limit", "1")[1])[0]
    assert first["severity"] == "CRITICAL" and first["first_seen"] == "2024-03-01T10:10:00+00:00"


def test_show_prints_the_alert_its_evidence_and_its_cdrs(settings, conn, capsys):
    ids = seed(conn)
    write_lake_hour(settings, T0, [
        (5, "+2341", "+2349000001", ""),   # before first_seen: not behind the alert
        (12, "+2341", "+2349000002", ""),
        (20, "+2341", "+2349000003", ""),
        (30, "+2349999999", "+2341", "TG-IGW-1"),
        (41, "+2341", "+2349000004", ""),  # after last_seen
    ])
    code, out = run_cli(capsys, "alerts", "show", str(ids["+2341"]))
    assert code == 0
    assert "subject             +2341" in out or "+2341" in out.splitlines()[3]
    assert '"distinct_destinations": 77' in out
    assert "2 CDRs from 1 hourly lake file(s), 2 distinct b_numbers" in out
    assert "+2349000002" in out and "+2349000003" in out and "+2349000001" not in out

    code, out = run_cli(capsys, "alerts", "show", str(ids["TG-IGW-1"]), "--json")
    shown = json.loads(out)
    assert shown["alert"]["subject_type"] == "trunk" and shown["alert"]["evidence"]["distinct_destinations"] == 77
    assert [r["a_number"] for r in shown["cdrs"]["rows"]] == ["+2349999999"]

    assert cli.main(["alerts", "show", "999999"]) == 1
    assert "no alert 999999" in capsys.readouterr().err


def test_show_lists_the_cdrs_of_a_box_a_route_and_a_range(settings, conn, capsys):
    box = {**det(0, "box:+2341", 0.8, "HIGH", "box"), "metrics": {"members": 2, "msisdns": ["+2341", "+2343"]}}
    replace_detections(conn, "simbox_cohort", [T0], [box], "b")
    refresh_alerts(conn, "simbox_cohort", [T0])
    replace_detections(conn, "route_quality", [T0], [det(0, "TG-OUT-1:44", 0.6, "HIGH", "route")], "q")
    refresh_alerts(conn, "route_quality", [T0])
    replace_detections(conn, "wangiri_range", [T0], [det(0, "3736912", 0.7, "HIGH", "range")], "w")
    refresh_alerts(conn, "wangiri_range", [T0])
    ids = dict(conn.execute("select subject_type, alert_id from sentinel.alerts").fetchall())
    write_lake_hour(settings, T0, [
        (12, "+2341", "+2349000001", ""),                   # a member of the box
        (13, "+2343", "+2349000002", ""),                   # the other member
        (14, "+2342", "+2349000003", ""),                   # not a member
        (15, "+2344", "+447700900001", "", "TG-OUT-1"),     # out on the route's trunk to +44
        (16, "+2344", "+33612345678", "", "TG-OUT-1"),      # the same trunk, another country
        (17, "+2344", "+447700900002", "", "TG-OUT-2"),     # +44 on another trunk
        (18, "+37369123456", "+2345", "TG-IGW-1"),          # from the range
        (19, "+37369129999", "+2346", "TG-IGW-1"),          # from the range
        (20, "+37369130000", "+2347", "TG-IGW-1"),          # the next range
    ])

    def shown(kind: str) -> list[tuple[str, str]]:
        code, out = run_cli(capsys, "alerts", "show", str(ids[kind]), "--json")
        assert code == 0
        return [(r["a_number"], r["b_number"]) for r in json.loads(out)["cdrs"]["rows"]]

    assert shown("box") == [("+2341", "+2349000001"), ("+2343", "+2349000002")]
    assert shown("route") == [("+2344", "+447700900001")]
    assert shown("range") == [("+37369123456", "+2345"), ("+37369129999", "+2346")]


def test_review_records_who_and_when_and_false_positive_whitelists(settings, conn, capsys, monkeypatch):
    ids = seed(conn)
    monkeypatch.setenv("USER", "ada")
    code, out = run_cli(capsys, "alerts", "review", str(ids["+2342"]), "--status", "investigating", "--notes", "calling the MNO")
    assert code == 0 and "status investigating, reviewed yes by ada" in out
    row = conn.execute(
        "select status, reviewed, reviewer_notes, reviewed_by, now() - reviewed_at < interval '1 minute'"
        " from sentinel.alerts where alert_id = %s", [ids["+2342"]],
    ).fetchone()
    assert row == ("investigating", True, "calling the MNO", "ada", True)

    code, out = run_cli(capsys, "alerts", "review", str(ids["+2342"]), "--status", "false_positive",
                        "--notes", "call centre", "--reviewer", "bob", "--json")
    reviewed = json.loads(out)
    assert (reviewed["status"], reviewed["reviewed_by"], reviewed["suppressed"]) == ("false_positive", "bob", True)
    code, out = run_cli(capsys, "alerts", "suppressions", "--json")
    (entry,) = json.loads(out)
    assert (entry["subject"], entry["reason"], entry["created_by"], entry["alert_id"]) == ("+2342", "call centre", "bob", ids["+2342"])

    # Notes only: the status stays; the whitelist too.
    run_cli(capsys, "alerts", "review", str(ids["+2342"]), "--notes", "confirmed with the MNO: their call centre")
    assert conn.execute("select status from sentinel.alerts where alert_id = %s", [ids["+2342"]]).fetchone() == ("false_positive",)

    # Undo.
    code, out = run_cli(capsys, "alerts", "review", str(ids["+2342"]), "--status", "open", "--unreviewed")
    assert "reviewed no" in out
    assert json.loads(run_cli(capsys, "alerts", "suppressions", "--json")[1]) == []
    assert len(json.loads(run_cli(capsys, "alerts", "suppressions", "--all", "--json")[1])) == 1

    assert cli.main(["alerts", "review", "999999", "--status", "closed"]) == 1


def test_watch_follows_new_alerts(settings, conn):
    env = {**os.environ}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel_pipeline.cli", "alerts", "watch", "--json", "--count", "2", "--timeout", "60",
         "--min-severity", "MEDIUM"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "listening on sentinel_alerts" in proc.stderr.readline()
        replace_detections(conn, "sdhf", [T0], [det(0, "+1", 0.3, "LOW"), det(0, "+2", 0.9, "CRITICAL")], "r")
        refresh_alerts(conn, "sdhf", [T0])
        replace_detections(conn, "sdhf", [T0 + timedelta(hours=1)], [det(1, "+1", 0.7, "HIGH")], "r")
        refresh_alerts(conn, "sdhf", [T0 + timedelta(hours=1)])
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["event"], e["subject"], e["severity"]) for e in events] == [("new", "+2", "CRITICAL"), ("escalated", "+1", "HIGH")]


# ----------------------------------------------------------------------------- end to end


def psql_listen(url: str) -> subprocess.Popen:
    """A psql session that has run LISTEN; it prints notifications after its next command."""
    proc = subprocess.Popen(["psql", "-X", "-q", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    proc.stdin.write(f"listen {NOTIFY_CHANNEL};\nselect 'listening';\n")
    proc.stdin.flush()
    assert "listening" in proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
    return proc


def psql_notifications(proc: subprocess.Popen) -> list[dict]:
    out, _ = proc.communicate("select 1;\n", timeout=30)
    prefix = f'Asynchronous notification "{NOTIFY_CHANNEL}" with payload "'
    return [json.loads(line[len(prefix):line.rindex('" received')]) for line in out.splitlines() if line.startswith(prefix)]


@pytest.mark.slow
def test_an_analyst_works_a_case_and_the_review_survives_a_backfill(settings, conn, database_url, monkeypatch, capsys):
    from sentinel_pipeline.cli.process import process_landing
    from sentinel_pipeline.generator import generate

    for name in ("SENTINEL_DAGSTER_PG_URL", "SENTINEL_DAGSTER_ARTIFACTS"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT))
    generate(settings.landing.root, start=datetime(2026, 11, 20, 8, tzinfo=timezone.utc), hours=5, subscribers=500,
             seed=7, scenario="simbox_sdhf=3", file_minutes=60, labels_path=settings.home / "labels.csv")

    psql = psql_listen(database_url) if shutil.which("psql") else None
    assert not process_landing(settings).failed
    alerts = conn.execute("select alert_id, detector, subject from sentinel.alerts order by alert_id").fetchall()
    assert any(d == "sdhf" for _, d, _ in alerts)
    if psql:
        seen = psql_notifications(psql)
        assert sorted(e["alert_id"] for e in seen) == [a for a, _, _ in alerts]
        assert {e["event"] for e in seen} == {"new"}

    # The analyst: list, show, review one case with the CLI ...
    code, out = run_cli(capsys, "alerts", "list", "--detector", "sdhf", "--status", "active", "--json")
    case = json.loads(out)[0]
    code, out = run_cli(capsys, "alerts", "show", str(case["alert_id"]), "--cdrs", "3")
    assert code == 0 and "CDRs behind it (" in out and case["subject"] in out
    assert " 0 CDRs" not in out
    run_cli(capsys, "alerts", "review", str(case["alert_id"]), "--status", "confirmed", "--notes", "SIM box", "--reviewer", "ada")
    # ... and another in plain SQL as the analyst role.
    other = next(a for a, _, _ in alerts if a != case["alert_id"])
    with psycopg.connect(database_url, autocommit=True) as analyst:
        analyst.execute("set role sentinel_analyst")
        analyst.execute("select set_config('sentinel.reviewer', 'bob', false)")
        analyst.execute(
            "update sentinel.alerts set status = 'false_positive', reviewed = true, reviewer_notes = 'PBX'"
            " where alert_id = %s", [other],
        )
    triage = "select alert_id, status, reviewed, reviewer_notes, reviewed_by, reviewed_at, severity, score, first_seen, last_seen, evidence::text from sentinel.alerts order by alert_id"
    before = conn.execute(triage).fetchall()

    # Back-fill: forget every file and process again (the same hours are rebuilt from scratch).
    listener = psycopg.connect(database_url, autocommit=True)
    listener.execute(f"listen {NOTIFY_CHANNEL}")
    for (path,) in conn.execute("select distinct path from sentinel.landed_files").fetchall():
        assert cli.main(["files", "forget", path]) == 0
    summary = process_landing(settings)
    assert summary.runs and not summary.failed
    assert conn.execute(triage).fetchall() == before
    assert list(listener.notifies(timeout=1)) == []
    listener.close()
    row = conn.execute("select status, reviewed_by from sentinel.alerts where alert_id = %s", [case["alert_id"]]).fetchone()
    assert row == ("confirmed", "ada")
    assert conn.execute("select count(*) from sentinel.active_suppressions where alert_id = %s", [other]).fetchone() == (1,)

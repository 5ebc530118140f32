"""The sentinel_analyst and sentinel_pipeline roles (migration 022) and the analyst views (021)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql

from sentinel_pipeline import database
from sentinel_pipeline.store import NOTIFY_CHANNEL, refresh_alerts, replace_detections
from tests.rows import detection

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def det(h: int, subject: str, score: float = 0.7, severity: str = "HIGH", **metrics) -> dict:
    return detection(T0 + timedelta(hours=h), subject, severity=severity, score=score, seen=(1, 59),
                     metrics={"distinct_destinations": 120, "avg_duration_s": 1.8, "calls": 130, **metrics})


@pytest.fixture
def analyst(database_url):
    """A connection working as sentinel_analyst (SET ROLE: privileges are checked as the analyst)."""
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute("set role sentinel_analyst")
        yield c


def seed(conn) -> None:
    replace_detections(conn, "sdhf", [T0], [det(0, "+1"), det(0, "+2", 0.9, "CRITICAL"), det(0, "+3", 0.3, "LOW")], "r")
    refresh_alerts(conn, "sdhf", [T0])
    replace_detections(conn, "wangiri", [T0], [det(0, "+1", 0.5, "MEDIUM")], "w")
    refresh_alerts(conn, "wangiri", [T0])


def test_the_analyst_reads_and_triages_but_cannot_change_facts(conn, analyst):
    seed(conn)
    (alert_id,) = analyst.execute("select alert_id from sentinel.alerts where detector = 'sdhf' and subject = '+2'").fetchone()
    analyst.execute(
        "update sentinel.alerts set status = 'confirmed', reviewed = true, reviewer_notes = 'SIM box, blocked'"
        " where alert_id = %s",
        [alert_id],
    )
    row = conn.execute(
        "select status, reviewed, reviewer_notes, reviewed_by, reviewed_at is not null from sentinel.alerts where alert_id = %s",
        [alert_id],
    ).fetchone()
    assert row[:3] == ("confirmed", True, "SIM box, blocked")
    assert row[3] == conn.execute("select session_user").fetchone()[0] and row[4]

    forbidden = [
        "update sentinel.alerts set score = 0.1",
        "update sentinel.alerts set severity = 'LOW'",
        "update sentinel.alerts set evidence = '{}'",
        "delete from sentinel.alerts",
        "update sentinel.detections set score = 0.1",
        "delete from sentinel.detections",
        "insert into sentinel.detections select * from sentinel.detections",
        "truncate sentinel.raw_partitions",
        "delete from sentinel.landed_files",
        "create table sentinel.mine (x int)",
        "drop view sentinel.top_subjects",
    ]
    for statement in forbidden:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            analyst.execute(statement)
    # Every table and view in the schema is readable.
    names = conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'sentinel' and c.relkind in ('r', 'v') order by 1"
    ).fetchall()
    for (name,) in names:
        analyst.execute(sql.SQL("select * from sentinel.{} limit 1").format(sql.Identifier(name)))


def test_the_analyst_whitelists_and_lifts(conn, analyst):
    seed(conn)
    analyst.execute(
        "update sentinel.alerts set status = 'false_positive', reviewed = true, reviewer_notes = 'IVR'"
        " where detector = 'sdhf' and subject = '+3'"
    )
    assert analyst.execute("select subject, reason from sentinel.active_suppressions").fetchall() == [("+3", "IVR")]
    # A whitelist entry by hand, and lifting it.
    analyst.execute(
        "insert into sentinel.suppressions (detector, subject_type, subject, reason)"
        " values ('wangiri', 'msisdn', '+9', 'our own test number')"
    )
    analyst.execute("update sentinel.suppressions set lifted_at = now(), lifted_by = 'me' where subject = '+9'")
    assert [r[0] for r in analyst.execute("select subject from sentinel.active_suppressions")] == ["+3"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("delete from sentinel.suppressions")


def test_the_pipeline_role_writes_data_not_schema(database_url, conn):
    with psycopg.connect(database_url, autocommit=True) as pipeline, \
            psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"listen {NOTIFY_CHANNEL}")
        pipeline.execute("set role sentinel_pipeline")
        seed(pipeline)
        assert len(list(listener.notifies(timeout=0.5))) == 4
        pipeline.execute(
            "insert into sentinel.landed_files (path, size_bytes, version, format, status) values ('a.csv', 1, '1', 'csv', 'registered')"
        )
        pipeline.execute(
            "insert into sentinel.raw_partitions (hour, input_fingerprint, rows_accepted, rows_rejected, duplicates, files)"
            " values (%s, 'x', 10, 0, 0, 1)",
            [T0],
        )
        for statement in ("create table sentinel.mine (x int)", "drop table sentinel.detections",
                          "alter table sentinel.alerts drop column evidence"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pipeline.execute(statement)
    assert conn.execute("select count(*) from sentinel.alerts").fetchone()[0] == 4


def test_a_login_role_granted_analyst_works_a_case_in_plain_sql(database_url, conn, pg_admin_url):
    """What docs/analysts.md tells a DBA to do, end to end, with a real login."""
    seed(conn)
    name = f"analyst_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login password 'pw' in role sentinel_analyst").format(sql.Identifier(name)))
    try:
        url = psycopg.conninfo.make_conninfo(database.url_with_database(database_url, conn.info.dbname), user=name, password="pw")
        with psycopg.connect(url, autocommit=True) as alice:
            assert alice.execute("select current_user").fetchone()[0] == name
            rows = alice.execute(
                "select alert_id, subject from sentinel.alerts_with_evidence where status = 'open' order by severity desc, score desc"
            ).fetchall()
            assert [r[1] for r in rows][:1] == ["+2"]
            alice.execute("update sentinel.alerts set status = 'investigating', reviewer_notes = 'calling the MNO' where alert_id = %s", [rows[0][0]])
        reviewed_by = conn.execute("select reviewed_by from sentinel.alerts where alert_id = %s", [rows[0][0]]).fetchone()[0]
        assert reviewed_by == name
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


def test_the_views_answer_the_daily_questions(conn):
    seed(conn)
    replace_detections(conn, "sdhf", [T0 + timedelta(days=1)], [det(24, "+4", 0.9, "CRITICAL")], "r2")
    refresh_alerts(conn, "sdhf", [T0 + timedelta(days=1)])
    conn.execute("update sentinel.alerts set status = 'false_positive' where detector = 'sdhf' and subject = '+3'")

    by_severity = conn.execute("select severity::text, open_alerts, unreviewed from sentinel.open_alerts_by_severity").fetchall()
    assert by_severity == [("CRITICAL", 2, 2), ("HIGH", 1, 1), ("MEDIUM", 1, 1)]

    daily = conn.execute("select day::text, detector, alerts, critical, false_positive from sentinel.daily_alert_counts").fetchall()
    assert daily == [("2024-03-02", "sdhf", 1, 1, 0), ("2024-03-01", "sdhf", 3, 1, 1), ("2024-03-01", "wangiri", 1, 0, 0)]

    top = conn.execute("select subject, alerts, detectors, max_severity::text from sentinel.top_subjects").fetchall()
    assert top[:3] == [("+2", 1, ["sdhf"], "CRITICAL"), ("+4", 1, ["sdhf"], "CRITICAL"), ("+1", 2, ["sdhf", "wangiri"], "HIGH")]

    row = conn.execute(
        "select detections, calls, distinct_destinations, avg_duration_s, suppressed, strongest_hour"
        " from sentinel.alerts_with_evidence where detector = 'sdhf' and subject = '+3'"
    ).fetchone()
    assert row == (1, 130, 120, 1.8, True, T0)
    assert json.loads(json.dumps(conn.execute("select evidence from sentinel.alerts_with_evidence limit 1").fetchone()[0]))

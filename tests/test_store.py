"""sentinel.detections / sentinel.alerts through the store, on a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pyarrow as pa
import pytest

from sentinel_pipeline.store import refresh_alerts, replace_detections

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
SEVERITY_FOR = {0.3: "LOW", 0.5: "MEDIUM", 0.7: "HIGH", 0.9: "CRITICAL"}


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def detection(h: int, subject: str, score: float = 0.5, *, severity: str | None = None, **metrics) -> dict:
    """A detection of `subject` in partition hour h, over a 24 h trailing window, seen during the hour."""
    return {
        "partition_hour": hour(h),
        "subject_type": "msisdn",
        "subject": subject,
        "window_start": hour(h - 23),
        "window_end": hour(h + 1),
        "severity": severity or SEVERITY_FOR.get(score, "MEDIUM"),
        "score": score,
        "first_seen": hour(h) + timedelta(minutes=5),
        "last_seen": hour(h) + timedelta(minutes=50),
        "metrics": {"unique_destinations": 60, "avg_duration_s": 2.0, **metrics},
    }


def detections_of(conn, detector: str = "sdhf") -> list[tuple]:
    return conn.execute(
        "select partition_hour, subject, score, run_id from sentinel.detections where detector = %s order by 1, 2",
        [detector],
    ).fetchall()


def alerts(conn, detector: str = "sdhf") -> dict[str, dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    rows = cur.execute("select * from sentinel.alerts where detector = %s order by subject", [detector]).fetchall()
    return {r["subject"]: r for r in rows}


FACTS = ("detector", "subject_type", "subject", "severity", "score", "first_seen", "last_seen", "evidence")


def facts(conn, detector: str = "sdhf") -> dict[str, tuple]:
    return {s: tuple(r[k] for k in FACTS) for s, r in alerts(conn, detector).items()}


# ----------------------------------------------------------------------------- replace_detections


def test_replace_detections_replaces_only_that_detector_and_those_hours(conn):
    assert replace_detections(conn, "sdhf", [hour(0), hour(1)], [detection(0, "+1"), detection(1, "+2")], "run-a") == 2
    assert replace_detections(conn, "wangiri", [hour(0)], [detection(0, "+1")], "run-w") == 1

    # Re-run hour 0 only: its rows are replaced, hour 1 and the other detector are untouched.
    assert replace_detections(conn, "sdhf", [hour(0)], [detection(0, "+3", 0.9)], "run-b") == 1
    assert detections_of(conn) == [(hour(0), "+3", 0.9, "run-b"), (hour(1), "+2", 0.5, "run-a")]
    assert detections_of(conn, "wangiri") == [(hour(0), "+1", 0.5, "run-w")]

    # An empty result for an hour clears it.
    assert replace_detections(conn, "sdhf", [hour(1)], [], "run-c") == 0
    assert detections_of(conn) == [(hour(0), "+3", 0.9, "run-b")]

    row = conn.execute("select metrics, severity::text, detected_at is not null from sentinel.detections where detector = 'sdhf'").fetchone()
    assert row == ({"unique_destinations": 60, "avg_duration_s": 2.0}, "CRITICAL", True)


def test_replace_detections_is_atomic(conn):
    replace_detections(conn, "sdhf", [hour(0)], [detection(0, "+1"), detection(0, "+2")], "old")

    bad_score = [detection(0, "+3"), detection(0, "+4", score=1.5)]  # violates the score check
    with pytest.raises(psycopg.errors.CheckViolation):
        replace_detections(conn, "sdhf", [hour(0)], bad_score, "new")
    assert detections_of(conn) == [(hour(0), "+1", 0.5, "old"), (hour(0), "+2", 0.5, "old")]

    duplicate = [detection(0, "+3"), detection(0, "+3")]  # the primary key
    with pytest.raises(psycopg.errors.UniqueViolation):
        replace_detections(conn, "sdhf", [hour(0)], duplicate, "new")
    assert [r[3] for r in detections_of(conn)] == ["old", "old"]

    def rows_then_crash():
        yield detection(0, "+3")
        raise RuntimeError("detector crashed half way")

    with pytest.raises(RuntimeError):
        replace_detections(conn, "sdhf", [hour(0)], rows_then_crash(), "new")
    assert [r[3] for r in detections_of(conn)] == ["old", "old"]


def test_replace_detections_rejects_rows_it_would_not_replace_next_time(conn):
    with pytest.raises(ValueError, match="outside the hours"):
        replace_detections(conn, "sdhf", [hour(0)], [detection(1, "+1")], "r")
    with pytest.raises(ValueError, match="detector"):
        replace_detections(conn, "sdhf", [hour(0)], [{**detection(0, "+1"), "detector": "irsf"}], "r")
    with pytest.raises(ValueError, match="missing"):
        replace_detections(conn, "sdhf", [hour(0)], [{"partition_hour": hour(0), "subject": "+1"}], "r")
    with pytest.raises(ValueError, match="empty"):
        replace_detections(conn, "sdhf", [], [], "r")
    assert detections_of(conn) == []


def test_replace_detections_accepts_an_arrow_table_and_naive_utc(conn):
    rows = [detection(0, f"+{i}", metrics_note="x") for i in range(3)]
    table = pa.Table.from_pylist(
        [{**r, "metrics": '{"unique_destinations": 80}', "partition_hour": r["partition_hour"].replace(tzinfo=None)} for r in rows]
    )
    assert replace_detections(conn, "sdhf", [hour(0).replace(tzinfo=None)], table, "arrow") == 3
    got = conn.execute("select distinct partition_hour, metrics from sentinel.detections").fetchall()
    assert got == [(hour(0), {"unique_destinations": 80})]


def test_replace_detections_many_rows(conn):
    rows = [detection(h, f"+234{i:09d}", 0.7) for h in range(4) for i in range(12_500)]
    assert replace_detections(conn, "simbox_profile", [hour(h) for h in range(4)], rows, "big") == 50_000
    assert conn.execute("select count(*) from sentinel.detections").fetchone()[0] == 50_000


# ----------------------------------------------------------------------------- refresh_alerts


def test_a_new_subject_opens_an_alert(conn):
    replace_detections(conn, "sdhf", [hour(0)], [detection(0, "+1", 0.7, unique_destinations=120)], "r1")
    assert refresh_alerts(conn, "sdhf", [hour(0)]) == {"new": 1, "updated": 0}

    alert = alerts(conn)["+1"]
    assert (alert["severity"], alert["score"], alert["status"], alert["reviewed"], alert["reviewer_notes"]) == (
        "HIGH", 0.7, "open", False, None,
    )
    assert alert["first_seen"] == hour(0) + timedelta(minutes=5)
    assert alert["last_seen"] == hour(0) + timedelta(minutes=50)
    assert alert["evidence"] == {
        "unique_destinations": 120,
        "avg_duration_s": 2.0,
        "partition_hour": "2024-03-01T00:00:00+00:00",
        "window_start": "2024-02-29T01:00:00+00:00",
        "window_end": "2024-03-01T01:00:00+00:00",
        "detections": 1,
        "partitions": ["2024-03-01T00:00:00+00:00"],
    }

    # The same refresh again changes nothing, not even updated_at.
    assert refresh_alerts(conn, "sdhf", [hour(0)]) == {"new": 0, "updated": 0}
    assert alerts(conn)["+1"]["updated_at"] == alert["updated_at"]


def test_a_subject_seen_again_updates_its_case(conn):
    replace_detections(conn, "sdhf", [hour(0)], [detection(0, "+1", 0.5)], "r1")
    refresh_alerts(conn, "sdhf", [hour(0)])
    before = alerts(conn)["+1"]

    replace_detections(conn, "sdhf", [hour(3)], [detection(3, "+1", 0.9, unique_destinations=210)], "r2")
    assert refresh_alerts(conn, "sdhf", [hour(3)]) == {"new": 0, "updated": 1}
    after = alerts(conn)["+1"]
    assert after["alert_id"] == before["alert_id"]
    assert after["first_seen"] == before["first_seen"]
    assert after["last_seen"] == hour(3) + timedelta(minutes=50)
    assert (after["severity"], after["score"]) == ("CRITICAL", 0.9)
    assert after["evidence"]["unique_destinations"] == 210
    assert after["evidence"]["detections"] == 2
    assert after["evidence"]["partitions"] == ["2024-03-01T03:00:00+00:00", "2024-03-01T00:00:00+00:00"]
    assert after["detected_at"] == before["detected_at"]
    assert after["updated_at"] > before["updated_at"]

    # A lower score later moves last_seen but keeps the highest-scoring detection's facts.
    replace_detections(conn, "sdhf", [hour(5)], [detection(5, "+1", 0.3)], "r3")
    assert refresh_alerts(conn, "sdhf", [hour(5)]) == {"new": 0, "updated": 1}
    latest = alerts(conn)["+1"]
    assert latest["last_seen"] == hour(5) + timedelta(minutes=50)
    assert (latest["severity"], latest["score"], latest["evidence"]["partition_hour"]) == (
        "CRITICAL", 0.9, "2024-03-01T03:00:00+00:00",
    )


def test_score_ties_take_the_latest_partition_and_partitions_keep_the_20_most_recent(conn):
    hours = [hour(h) for h in range(25)]
    rows = [detection(h, "+1", 0.5, unique_destinations=50 + h) for h in range(25)]
    replace_detections(conn, "sdhf", hours, rows, "r")
    refresh_alerts(conn, "sdhf", hours)
    evidence = alerts(conn)["+1"]["evidence"]
    assert evidence["partition_hour"] == "2024-03-02T00:00:00+00:00"  # hour 24
    assert evidence["unique_destinations"] == 74
    assert evidence["detections"] == 25
    assert len(evidence["partitions"]) == 20
    assert evidence["partitions"][0] == "2024-03-02T00:00:00+00:00"
    assert evidence["partitions"][-1] == "2024-03-01T05:00:00+00:00"


SCENARIO = {  # partition hour -> detections of sdhf in that hour
    0: [detection(0, "+1", 0.5), detection(0, "+2", 0.3)],
    1: [detection(1, "+1", 0.7), detection(1, "+3", 0.9)],
    2: [detection(2, "+2", 0.7), detection(2, "+3", 0.5)],
    3: [detection(3, "+1", 0.5)],
}


def run_hours(conn, order: list[int]) -> None:
    """What the pipeline does per partition: write the hour's detections, then refresh its alerts."""
    for h in order:
        replace_detections(conn, "sdhf", [hour(h)], SCENARIO[h], f"run-{h}")
        refresh_alerts(conn, "sdhf", [hour(h)])


def test_alerts_do_not_depend_on_the_order_partitions_run_in(conn):
    run_hours(conn, [0, 1, 2, 3])
    in_order = facts(conn)
    assert sorted(in_order) == ["+1", "+2", "+3"]

    for order in ([3, 2, 1, 0], [2, 0, 3, 1, 1, 2]):
        conn.execute("truncate sentinel.alerts, sentinel.detections cascade")
        run_hours(conn, order)
        assert facts(conn) == in_order, order

    # All hours in one call, too.
    conn.execute("truncate sentinel.alerts cascade")
    assert refresh_alerts(conn, "sdhf", [hour(h) for h in SCENARIO]) == {"new": 3, "updated": 0}
    assert facts(conn) == in_order


def test_analyst_triage_survives_reruns_and_backfills(conn):
    run_hours(conn, [2, 3])
    conn.execute(
        """update sentinel.alerts
           set status = 'false_positive', reviewed = true, reviewer_notes = 'call centre, whitelisted'
           where subject = '+1'"""
    )
    conn.execute("update sentinel.alerts set status = 'investigating' where subject = '+2'")
    before = alerts(conn)

    run_hours(conn, [3])  # re-run: nothing changes
    assert alerts(conn) == before

    run_hours(conn, [0, 1])  # back-fill earlier hours: facts change, triage stays
    after = alerts(conn)
    one = after["+1"]
    assert (one["status"], one["reviewed"], one["reviewer_notes"]) == ("false_positive", True, "call centre, whitelisted")
    assert one["first_seen"] == hour(0) + timedelta(minutes=5)
    assert one["score"] == 0.7 and one["evidence"]["detections"] == 3
    assert one["alert_id"] == before["+1"]["alert_id"]
    assert one["detected_at"] == before["+1"]["detected_at"]
    assert after["+2"]["status"] == "investigating"

    counts = conn.execute(
        "select count(*), count(distinct (detector, subject_type, subject)) from sentinel.alerts"
    ).fetchone()
    assert counts == (3, 3)

    # Back-filled in a different order from scratch, the facts are the same as run in order.
    expected = facts(conn)
    conn.execute("truncate sentinel.alerts, sentinel.detections cascade")
    run_hours(conn, [0, 1, 2, 3])
    assert facts(conn) == expected


def test_refresh_does_not_depend_on_the_session_time_zone(conn):
    run_hours(conn, [0, 1])
    conn.execute("set time zone 'Africa/Lagos'")
    assert refresh_alerts(conn, "sdhf", [hour(0), hour(1)]) == {"new": 0, "updated": 0}


def test_refresh_only_touches_its_detector(conn):
    run_hours(conn, [0])
    replace_detections(conn, "wangiri", [hour(0)], [detection(0, "+1", 0.9)], "w")
    assert refresh_alerts(conn, "wangiri", [hour(0)]) == {"new": 1, "updated": 0}
    assert alerts(conn, "wangiri")["+1"]["score"] == 0.9
    assert alerts(conn, "sdhf")["+1"]["score"] == 0.5

"""The alert lifecycle on a real PostgreSQL: whitelist, reopen, escalate, NOTIFY, and the triage audit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from sentinel_pipeline.store import NOTIFY_CHANNEL, refresh_alerts, replace_detections

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
SEVERITY_FOR = {0.3: "LOW", 0.5: "MEDIUM", 0.7: "HIGH", 0.9: "CRITICAL"}


def hour(n: int) -> datetime:
    return T0 + timedelta(hours=n)


def detection(h: int, subject: str, score: float = 0.5) -> dict:
    return {
        "partition_hour": hour(h),
        "subject_type": "msisdn",
        "subject": subject,
        "window_start": hour(h - 23),
        "window_end": hour(h + 1),
        "severity": SEVERITY_FOR[score],
        "score": score,
        "first_seen": hour(h) + timedelta(minutes=5),
        "last_seen": hour(h) + timedelta(minutes=50),
        "metrics": {"distinct_destinations": 60, "avg_duration_s": 2.0},
    }


def run(conn, h: int, *rows: dict, detector: str = "sdhf") -> dict:
    replace_detections(conn, detector, [hour(h)], list(rows), f"run-{h}")
    return refresh_alerts(conn, detector, [hour(h)])


@pytest.fixture
def listener(database_url):
    with psycopg.connect(database_url, autocommit=True) as c:
        c.execute(f"listen {NOTIFY_CHANNEL}")
        yield c


def events(listener) -> list[dict]:
    """The notifications delivered so far (waits briefly for stragglers)."""
    return [json.loads(n.payload) for n in listener.notifies(timeout=0.3)]


def alert(conn, subject: str, detector: str = "sdhf") -> dict:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(
        "select * from sentinel.alerts where detector = %s and subject = %s", [detector, subject]
    ).fetchone()


def active_suppressions(conn) -> list[tuple]:
    return conn.execute(
        "select detector, subject, reason, created_by from sentinel.suppressions where lifted_at is null order by 2"
    ).fetchall()


def test_a_new_alert_is_published_once_and_a_rerun_is_silent(conn, listener):
    assert run(conn, 0, detection(0, "+1", 0.7)) == {"new": 1, "updated": 0}
    (event,) = events(listener)
    a = alert(conn, "+1")
    # PostgreSQL's JSON drops trailing zeros of fractional seconds; compare the instant, not the text.
    assert datetime.fromisoformat(event.pop("detected_at")) == a["detected_at"]
    assert event == {
        "event": "new",
        "alert_id": a["alert_id"],
        "detector": "sdhf",
        "subject_type": "msisdn",
        "subject": "+1",
        "severity": "HIGH",
        "previous_severity": None,
        "score": 0.7,
        "status": "open",
        "first_seen": "2024-03-01T00:05:00+00:00",
        "last_seen": "2024-03-01T00:50:00+00:00",
    }
    assert (a["last_event"], a["last_event_at"] is not None) == ("new", True)

    # Re-running the same hour: no change, no notification.
    assert run(conn, 0, detection(0, "+1", 0.7)) == {"new": 0, "updated": 0}
    assert events(listener) == []
    assert alert(conn, "+1") == a

    # More activity at the same severity: facts change, nobody is paged.
    assert run(conn, 1, detection(1, "+1", 0.7)) == {"new": 0, "updated": 1}
    assert events(listener) == []


def test_nothing_is_published_when_the_transaction_rolls_back(conn, listener):
    with pytest.raises(RuntimeError):
        with conn.transaction():
            run(conn, 0, detection(0, "+1"))
            raise RuntimeError("the run failed after refreshing alerts")
    assert events(listener) == []
    assert alert(conn, "+1") is None


def test_severity_rising_on_an_open_case_escalates_it(conn, listener):
    run(conn, 0, detection(0, "+1", 0.5))
    conn.execute("update sentinel.alerts set status = 'investigating', reviewed = true where subject = '+1'")
    events(listener)

    run(conn, 1, detection(1, "+1", 0.9))
    (event,) = events(listener)
    assert (event["event"], event["severity"], event["previous_severity"], event["status"]) == (
        "escalated", "CRITICAL", "MEDIUM", "investigating",
    )
    a = alert(conn, "+1")
    assert (a["status"], a["reviewed"], a["last_event"]) == ("investigating", False, "escalated")

    # A lower score later is not an escalation.
    run(conn, 2, detection(2, "+1", 0.3))
    assert events(listener) == []


def test_false_positive_whitelists_the_subject_until_undone(conn, listener):
    run(conn, 0, detection(0, "+1", 0.5))
    events(listener)
    conn.execute("select set_config('sentinel.reviewer', 'ada', false)")
    conn.execute(
        "update sentinel.alerts set status = 'false_positive', reviewed = true,"
        " reviewer_notes = 'call centre' where subject = '+1'"
    )
    reviewed = alert(conn, "+1")
    assert reviewed["reviewed_by"] == "ada" and reviewed["reviewed_at"] is not None
    assert active_suppressions(conn) == [("sdhf", "+1", "call centre", "ada")]

    # Later and stronger activity: the facts follow, but the case stays closed as a false positive.
    run(conn, 5, detection(5, "+1", 0.9))
    assert events(listener) == []
    a = alert(conn, "+1")
    assert (a["status"], a["reviewed"], a["severity"], a["reviewed_by"]) == ("false_positive", True, "CRITICAL", "ada")
    assert a["last_seen"] == hour(5) + timedelta(minutes=50)

    # Another detector is not whitelisted by it.
    run(conn, 5, detection(5, "+1", 0.5), detector="wangiri")
    assert [e["detector"] for e in events(listener)] == ["wangiri"]

    # Undo: the analyst reopens the case; the whitelist entry is lifted (kept, with who and when).
    conn.execute("select set_config('sentinel.reviewer', 'bob', false)")
    conn.execute("update sentinel.alerts set status = 'open', reviewed = false where subject = '+1' and detector = 'sdhf'")
    assert active_suppressions(conn) == []
    lifted = conn.execute("select lifted_by, lifted_at is not null from sentinel.suppressions").fetchone()
    assert lifted == ("bob", True)
    run(conn, 6, detection(6, "+1", 0.9))
    assert events(listener) == []  # open already and not more severe: facts only


def test_a_whitelist_entry_made_by_hand_silences_a_new_subject(conn, listener):
    conn.execute(
        "insert into sentinel.suppressions (detector, subject_type, subject, reason)"
        " values ('sdhf', 'msisdn', '+7', 'our own IVR')"
    )
    assert run(conn, 0, detection(0, "+7", 0.9), detection(0, "+8", 0.5)) == {"new": 2, "updated": 0}
    assert [e["subject"] for e in events(listener)] == ["+8"]
    a = alert(conn, "+7")
    assert (a["status"], a["reviewed"], a["last_event"]) == ("false_positive", False, None)

    # Lifting the entry by hand: the next new activity reopens the case.
    conn.execute("update sentinel.suppressions set lifted_at = now(), lifted_by = 'ops' where subject = '+7'")
    run(conn, 1, detection(1, "+7", 0.9))
    (event,) = events(listener)
    assert (event["event"], event["status"]) == ("reopened", "open")


def test_new_activity_reopens_a_closed_case_but_a_backfill_does_not(conn, listener):
    run(conn, 5, detection(5, "+1", 0.5))
    conn.execute(
        "update sentinel.alerts set status = 'closed', reviewed = true, reviewer_notes = 'blocked' where subject = '+1'"
    )
    closed = alert(conn, "+1")
    events(listener)

    # Back-filling earlier hours changes the facts (first_seen), not the verdict: nothing new happened.
    run(conn, 2, detection(2, "+1", 0.7))
    assert events(listener) == []
    a = alert(conn, "+1")
    assert (a["status"], a["reviewed"], a["first_seen"]) == ("closed", True, hour(2) + timedelta(minutes=5))

    # Activity after the case's last_seen reopens it; the analyst's notes and audit stay.
    run(conn, 8, detection(8, "+1", 0.5))
    (event,) = events(listener)
    assert (event["event"], event["status"]) == ("reopened", "open")
    a = alert(conn, "+1")
    assert (a["status"], a["reviewed"], a["reviewer_notes"], a["last_event"]) == ("open", False, "blocked", "reopened")
    assert (a["reviewed_by"], a["reviewed_at"]) == (closed["reviewed_by"], closed["reviewed_at"])


def test_new_activity_on_a_confirmed_case_escalates_it(conn, listener):
    run(conn, 0, detection(0, "+1", 0.7))
    conn.execute("update sentinel.alerts set status = 'confirmed', reviewed = true where subject = '+1'")
    events(listener)

    run(conn, 3, detection(3, "+1", 0.5))
    (event,) = events(listener)
    assert (event["event"], event["status"], event["severity"]) == ("escalated", "confirmed", "HIGH")
    a = alert(conn, "+1")
    assert (a["status"], a["reviewed"]) == ("confirmed", False)

    # Re-running that hour again: silent.
    run(conn, 3, detection(3, "+1", 0.5))
    assert events(listener) == []


def test_review_audit_records_who_and_when(conn):
    run(conn, 0, detection(0, "+1"))
    assert alert(conn, "+1")["reviewed_by"] is None
    conn.execute("update sentinel.alerts set reviewer_notes = 'looking' where subject = '+1'")
    a = alert(conn, "+1")
    user = conn.execute("select session_user").fetchone()[0]
    assert a["reviewed_by"] == user and a["reviewed_at"] is not None
    assert a["updated_at"] >= a["reviewed_at"]
    # An explicit reviewed_by wins over the login name.
    conn.execute("update sentinel.alerts set status = 'investigating', reviewed_by = 'cy' where subject = '+1'")
    assert alert(conn, "+1")["reviewed_by"] == "cy"

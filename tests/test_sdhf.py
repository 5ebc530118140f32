"""The SDHF rule and its severity tiers, on hand-made feature rows, either side of every threshold."""

from datetime import datetime, timezone

import duckdb
import pytest

from sentinel_pipeline.detectors import sdhf
from sentinel_pipeline.settings import Settings

HOUR = datetime(2026, 11, 26, 13, tzinfo=timezone.utc)


def detect(rows: list[tuple[str, int, float]], params: sdhf.SdhfParams = sdhf.SdhfParams()) -> dict[str, dict]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    w = params.time_window_hours
    con.execute(
        f"""create table features (caller varchar, hour timestamptz, distinct_callees_{w}h bigint,
        avg_duration_s_{w}h double, calls_{w}h bigint, answered_calls_{w}h bigint,
        short_call_share_{w}h double, received_calls_{w}h bigint, distinct_cells_{w}h bigint,
        first_call_{w}h timestamptz, last_call_{w}h timestamptz)"""
    )
    for caller, destinations, avg in rows:
        con.execute(
            "insert into features values (?, ?, ?, ?, ?, 0, 1, 0, 1, ?, ?)",
            [caller, HOUR, destinations, avg, destinations, HOUR, HOUR],
        )
    relation = con.sql(sdhf.detect_sql(params, Settings()))
    return {r[1]: dict(zip(relation.columns, r)) for r in relation.fetchall()}


def test_thresholds_are_inclusive_and_exact():
    found = detect([("at", 50, 3.0), ("few", 49, 3.0), ("slow", 50, 3.001), ("both", 49, 3.5)])
    assert set(found) == {"at"}


@pytest.mark.parametrize(
    "destinations, avg, severity",
    [
        (200, 1.5, "CRITICAL"),
        (200, 1.51, "HIGH"),
        (199, 1.5, "HIGH"),
        (100, 2.0, "HIGH"),
        (100, 2.01, "MEDIUM"),  # >= 75 destinations
        (99, 2.0, "MEDIUM"),
        (75, 3.0, "MEDIUM"),
        (74, 1.0, "MEDIUM"),  # avg <= 1.0
        (74, 1.01, "LOW"),
        (50, 3.0, "LOW"),
    ],
)
def test_severity_tiers(destinations, avg, severity):
    (row,) = detect([("n", destinations, avg)]).values()
    assert row["severity"] == severity


def test_score_rises_with_destinations_and_shorter_calls():
    found = detect([("a", 50, 3.0), ("b", 100, 3.0), ("c", 100, 1.0), ("d", 400, 0.0), ("e", 900, 0.0)])
    scores = [found[k]["score"] for k in "abcde"]
    assert scores == sorted(scores) and 0 <= scores[0] and scores[-1] == 1.0 == scores[-2]


def test_parameters_change_the_rule():
    params = sdhf.SdhfParams(time_window_hours=1, min_unique_destinations=10, max_avg_duration_seconds=5.0)
    found = detect([("a", 10, 5.0), ("b", 9, 1.0)], params)
    assert set(found) == {"a"}
    assert '"window_hours":1' in found["a"]["metrics"]

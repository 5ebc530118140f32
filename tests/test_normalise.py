"""The CDR contract: numbers to E.164, times to UTC, reject reasons, the original engine's layout."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sentinel_pipeline import duck
from sentinel_pipeline.cdr.read import normalised_file_sql
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.settings import Settings


def rows_of(tmp_path: Path, text: str, env: dict | None = None, name: str = "f.csv") -> list[dict]:
    settings = Settings.from_env({"SENTINEL_HOME": str(tmp_path / "home"), **(env or {})})
    path = tmp_path / name
    path.write_text(text)
    con = duck.connect(settings)
    sql = normalised_file_sql(con, path, 1, settings)
    relation = con.sql(f"select * from ({sql}) order by line")
    return [dict(zip(relation.columns, r)) for r in relation.fetchall()]


HEADER = "record_id,seizure_time,duration_s,a_number,b_number\n"


@pytest.mark.parametrize(
    "raw, e164, valid, kind, region",
    [
        ("08031234567", "+2348031234567", True, "mobile", "NG"),  # national prefix
        ("+2348031234567", "+2348031234567", True, "mobile", "NG"),  # already E.164
        ("2348031234567", "+2348031234567", True, "mobile", "NG"),  # country code without +
        ("002348031234567", "+2348031234567", True, "mobile", "NG"),  # international prefix 00
        ("0092348031234567", "+2348031234567", True, "mobile", "NG"),  # international prefix 009
        ("00442079460958", "+442079460958", True, "fixed_line", "GB"),  # foreign number
        ("00441632960001", "+441632960001", False, "unknown", None),  # the right length, but no UK range
        ("00971501234567", "+971501234567", True, "mobile", "AE"),  # 00, not 009: +71 501... is no number
        ("8031234567", "+2348031234567", True, "mobile", "NG"),  # national number without its prefix
        ("0803 123-4567", "+2348031234567", True, "mobile", "NG"),  # separators removed
        ("ABC123", "ABC123", False, "unknown", None),  # not a number: kept as sent, flagged
        ("0806", "+234806", False, "unknown", "NG"),  # too short
    ],
)
def test_numbers_are_normalised_to_e164(tmp_path, raw, e164, valid, kind, region):
    (row,) = rows_of(tmp_path, HEADER + f"r1,2026-11-26T10:00:00Z,5,{raw},08031234567\n")
    assert (row["a_number"], row["a_valid"], row["a_type"], row["a_region"], row["a_number_raw"]) == (
        e164, valid, kind, region, raw)
    assert row["reject_reason"] is None


def test_country_code_and_prefixes_are_settings(tmp_path):
    env = {"SENTINEL_COUNTRY_CODE": "44", "SENTINEL_INTERNATIONAL_PREFIXES": "00"}
    (row,) = rows_of(tmp_path, HEADER + "r1,2026-11-26T10:00:00Z,5,07700900123,0092348031234567\n", env)
    assert row["a_number"] == "+447700900123"
    assert row["b_number"] == "+92348031234567"  # "009" is no longer an international prefix here


def test_times_without_offset_are_in_the_source_time_zone(tmp_path):
    rows = rows_of(
        tmp_path,
        HEADER + "r1,2026-11-26 10:00:00,5,1,2\nr2,2026-11-26T10:00:00Z,5,1,2\nr3,2026-11-26T10:00:00+02:00,5,1,2\n",
        {"SENTINEL_SOURCE_TIMEZONE": "Africa/Lagos"},
    )
    utc = [r["seizure_time"].astimezone(timezone.utc).replace(tzinfo=None) for r in rows]
    assert utc == [datetime(2026, 11, 26, 9), datetime(2026, 11, 26, 10), datetime(2026, 11, 26, 8)]
    assert rows[0]["hour"] == datetime(2026, 11, 26, 9, tzinfo=timezone.utc)


def test_partition_hours_follow_a_half_hour_time_zone(tmp_path):
    (row,) = rows_of(tmp_path, HEADER + "r1,2026-11-26T10:10:00Z,5,1,2\n", {"SENTINEL_PARTITION_TIMEZONE": "Asia/Kolkata"})
    assert row["hour"] == datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


def test_bad_rows_get_a_reason_and_their_line(tmp_path):
    rows = rows_of(
        tmp_path,
        HEADER
        + "r1,2026-11-26T10:00:00Z,5,0803,0806\n"
        + ",2026-11-26T10:00:00Z,5,0803,0806\n"
        + "r3,yesterday,5,0803,0806\n"
        + "r4,2026-11-26T10:00:00Z,-4,0803,0806\n"
        + "r5,2026-11-26T10:00:00Z,4.5,0803,0806\n"
        + "r6,2026-11-26T10:00:00Z,5,,0806\n"
        + "r7,2026-11-26T10:00:00Z,90000,0803,0806\n",
    )
    reasons = {r["line"]: r["reject_reason"] for r in rows}
    assert reasons == {
        2: None,
        3: "record_id is missing",
        4: "seizure_time is not an ISO-8601 time: yesterday",
        5: "duration_s is negative: -4",
        6: "duration_s is not a whole number: 4.5",
        7: "a_number is missing",
        8: "duration_s is over 86400 (24 h): 90000",
    }
    assert '"seizure_time":"yesterday"' in rows[2]["src_text"]


def test_unknown_record_type_is_rejected_and_missing_defaults_to_moc(tmp_path):
    rows = rows_of(
        tmp_path,
        "record_id,seizure_time,duration_s,a_number,b_number,record_type\n"
        "r1,2026-11-26T10:00:00Z,5,1,2,\nr2,2026-11-26T10:00:00Z,5,1,2,igw_in\nr3,2026-11-26T10:00:00Z,5,1,2,FOO\n",
    )
    assert [r["record_type"] for r in rows[:2]] == ["MOC", "IGW_IN"]
    assert rows[2]["reject_reason"].startswith("record_type is not one of")


def test_column_names_match_case_and_whitespace_insensitively(tmp_path):
    (row,) = rows_of(tmp_path, " Record_ID ,SEIZURE_TIME,Duration_S,A_Number,b_number\nr1,2026-11-26T10:00:00Z,5,1,2\n")
    assert row["record_id"] == "r1" and row["reject_reason"] is None


def test_original_engine_layout_is_accepted(tmp_path):
    rows = rows_of(
        tmp_path,
        "call_date,call_time,caller_number,callee_number,duration_seconds,call_direction,termination_cause,location_code\n"
        "2026-11-26,10:00:05,08031234567,08061234567,2,outgoing,16,LAG001\n"
        "2026-11-26,10:00:05,08031234567,08061234567,2,outgoing,16,LAG001\n"
        "2026-11-26,10:01:00,08061234567,08031234567,30,incoming,16,LAG002\n",
    )
    assert [r["record_type"] for r in rows] == ["MOC", "MOC", "MTC"]
    assert rows[0]["a_number"] == "+2348031234567" and rows[0]["cell_id"] == "LAG001"
    assert rows[0]["release_cause"] == 16 and rows[0]["duration_s"] == 2
    # No record id in that layout: identical calls get the same digest, so they de-duplicate.
    assert rows[0]["record_id"] == rows[1]["record_id"] != rows[2]["record_id"]


def test_a_file_without_the_required_columns_is_unreadable(tmp_path):
    with pytest.raises(UnreadableFile, match="missing required columns: record_id"):
        rows_of(tmp_path, "foo,bar\n1,2\n")

"""The names Sentinel's data is made of: the raw_cdrs columns and the value sets of the analysts' tables.

Everything that needs a column list, a DDL or a value set takes it from here (the staging table of
ingest, the lake's select list, the data-quality contracts, the CLI's choices, the detector specs);
``tests/test_schema.py`` checks the value sets against the migrations.
"""

from __future__ import annotations

# The raw_cdrs lake: one row per accepted record, as DuckDB types. Numbers: ``*_number`` E.164 (or the
# cleaned raw value when it is no number), ``*_number_raw`` as presented, ``*_valid`` a valid number of its
# country, ``*_type`` its kind (mobile, fixed_line, premium_rate, toll_free, voip, ...) and ``*_region``
# its country (ISO 3166; ``001`` for non-geographic ranges), by libphonenumber's metadata.
RAW_CDR_COLUMNS: dict[str, str] = {
    "record_id": "VARCHAR",
    "seizure_time": "TIMESTAMP WITH TIME ZONE",
    "answer_time": "TIMESTAMP WITH TIME ZONE",
    "duration_s": "INTEGER",
    "a_number": "VARCHAR",
    "a_number_raw": "VARCHAR",
    "a_valid": "BOOLEAN",
    "a_type": "VARCHAR",
    "a_region": "VARCHAR",
    "b_number": "VARCHAR",
    "b_number_raw": "VARCHAR",
    "b_valid": "BOOLEAN",
    "b_type": "VARCHAR",
    "b_region": "VARCHAR",
    "record_type": "VARCHAR",
    "trunk_in": "VARCHAR",
    "trunk_out": "VARCHAR",
    "imsi": "VARCHAR",
    "imei": "VARCHAR",
    "cell_id": "VARCHAR",
    "release_cause": "SMALLINT",
    "service": "VARCHAR",
    "file_id": "BIGINT",
    "line": "BIGINT",
}

# What normalisation yields besides the lake columns: the partition hour, why a row is rejected and
# what it held.
STAGED_COLUMNS: dict[str, str] = {
    **RAW_CDR_COLUMNS,
    "hour": "TIMESTAMP WITH TIME ZONE",
    "reject_reason": "VARCHAR",
    "src_text": "VARCHAR",
}

# sentinel.detections (migration 001), in column order.
DETECTION_COLUMNS: dict[str, str] = {
    "detector": "text",
    "partition_hour": "timestamptz",
    "subject_type": "text",
    "subject": "text",
    "window_start": "timestamptz",
    "window_end": "timestamptz",
    "severity": "sentinel.severity",
    "score": "double precision",
    "first_seen": "timestamptz",
    "last_seen": "timestamptz",
    "metrics": "jsonb",
    "detected_at": "timestamptz",
    "run_id": "text",
}

RECORD_TYPES = ("MOC", "MTC", "IGW_IN", "IGW_OUT", "TRANSIT")
# Records of a call made by the calling number: at its own switch, or as it entered the network.
ORIGINATING_RECORD_TYPES = ("MOC", "IGW_IN", "TRANSIT")
SERVICES = ("voice", "sms")

# sentinel.severity (migration 001), lowest first: the enum orders them.
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
# sentinel.alerts.status (migration 001).
ALERT_STATUSES = ("open", "investigating", "confirmed", "false_positive", "closed")
# What a detection or an alert is about; a whitelist row names one of these.
SUBJECT_TYPES = ("msisdn", "imsi", "imei", "trunk", "box", "route", "range")


def ddl(columns: dict[str, str]) -> str:
    """``name TYPE, ...`` for a CREATE TABLE."""
    return ", ".join(f"{name} {kind}" for name, kind in columns.items())


def select_list(columns: dict[str, str] | tuple[str, ...]) -> str:
    """``name, name, ...`` for a SELECT."""
    return ", ".join(columns)

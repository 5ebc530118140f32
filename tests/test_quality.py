"""Data quality: the parser never crashes and loses nothing (property-based), the asset checks judge
real lake and database contents, block on unusable input, and keep every result in sentinel.dq_results."""

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from assets.cdrs import raw_cdrs
from assets.checks import RAW_CONTRACT, RAW_VOLUME, raw_cdrs_contract, raw_cdrs_volume
from assets.features import caller_features
from resources import SentinelResource
from sentinel_pipeline import duck, ingest, landing, lake
from sentinel_pipeline.cdr.lines import count_lines
from sentinel_pipeline.cdr.read import normalised_file_sql
from sentinel_pipeline.errors import UnreadableFile
from sentinel_pipeline.quality.pg_suites import raw_volume
from sentinel_pipeline.settings import Settings

HEADER = "record_id,seizure_time,duration_s,a_number,b_number\n"
HOUR = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)
KEY = "2026-11-26-10:00"

# --- the parser, property-based -------------------------------------------------------------------------

_field = st.one_of(
    st.sampled_from(["r1", "2026-11-26T10:00:00Z", "5", "-3", "08031234567", "", "MOC", "abc", "1e9"]),
    st.text(alphabet=st.sampled_from(list('ab09,"; \t\r-:+é\\')), max_size=12),
)
_line = st.one_of(
    st.lists(_field, min_size=0, max_size=7).map(lambda fs: ",".join(fs).encode()),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),  # anything, including invalid UTF-8
)


def _read_like_the_sensor(path: Path, settings: Settings) -> list[tuple]:
    """Rows of a file the way landing.scan_file and ingest read it (fast path, or line by line)."""
    con = duck.connect(settings)

    def rows(lenient=False):
        sql = normalised_file_sql(con, path, 1, settings, lenient=lenient)
        return con.execute(f"select line, reject_reason, record_id, seizure_time, duration_s from ({sql})").fetchall()

    result = rows()
    if count_lines(path) != len(result) + 1:
        result = rows(lenient=True)
    con.close()
    return result


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, max_size=12), trailing_newline=st.booleans())
def test_the_parser_never_crashes_and_every_line_is_accepted_or_rejected(lines, trailing_newline):
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"SENTINEL_HOME": str(Path(tmp) / "home")})
        path = Path(tmp) / "f.csv"
        body = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
        path.write_bytes(HEADER.encode() + body)
        try:
            rows = _read_like_the_sensor(path, settings)
        except UnreadableFile as exc:  # a whole-file problem, with a reason
            assert exc.reason
            return
        physical = (HEADER.encode() + body).split(b"\n")
        data_lines = {i for i, raw in enumerate(physical, start=1) if i > 1 and raw.strip()}
        assert sorted(line for line, *_ in rows) == sorted(data_lines)
        for line, reason, record_id, seizure_time, duration_s in rows:
            # accepted rows satisfy the contract; the others say why not
            assert reason or (record_id and seizure_time and duration_s is not None and duration_s >= 0), line


# --- asset checks on real data --------------------------------------------------------------------------

def _land(settings, conn, name: str, rows: list[str]) -> None:
    settings.landing.root.mkdir(parents=True, exist_ok=True)
    (settings.landing.root / name).write_text(HEADER + "".join(r + "\n" for r in rows))
    outcome = landing.register_landed_files(settings, conn, {}, now=time.time() + 3600)
    ingest.build_raw_hours(settings, conn, sorted(outcome.hours))


def _calls(day: datetime, n: int, prefix: str) -> list[str]:
    return [f"{prefix}{i},{(day + timedelta(seconds=i)).isoformat()},{30 + i % 60},0803{i:07d},0806{i:07d}" for i in range(n)]


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_stopped_feed_fails_the_volume_check(settings, conn):
    for days_back in (1, 2, 3):
        _land(settings, conn, f"d{days_back}.csv", _calls(HOUR - timedelta(days=days_back), 200, f"d{days_back}-"))
    _land(settings, conn, "today_little.csv", _calls(HOUR + timedelta(hours=1), 30, "t-"))  # next hour: a trickle

    result = dg.materialize(
        [raw_cdrs, raw_cdrs_volume], partition_key=KEY, resources={"sentinel": SentinelResource.from_settings(settings)},
        raise_on_error=False,
    )
    check = _evaluations(result)[RAW_VOLUME]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "feed stopped" in check.description
    (passed, summary, details) = conn.execute(
        "select passed, summary, details from sentinel.dq_results where check_name = %s and partition_hour = %s",
        [RAW_VOLUME, HOUR],
    ).fetchone()
    assert not passed and "usually 200" in summary
    assert details["expectations"][0]["observed_value"]["rows_accepted"] == 0

    # A range run judges every hour in it: 10:00 (nothing) and 11:00 (30 of the usual 0: no baseline).
    outcomes = raw_volume(conn, [HOUR, HOUR + timedelta(hours=1)])
    assert [o.passed for o in outcomes] == [False, True]


def test_a_normal_hour_passes_volume_and_an_unfinished_hour_is_not_judged(conn, settings):
    for days_back in (0, 1, 2):
        _land(settings, conn, f"n{days_back}.csv", _calls(HOUR - timedelta(days=days_back), 150, f"n{days_back}-"))
    (outcome,) = raw_volume(conn, [HOUR])
    assert outcome.passed
    conn.execute("update sentinel.raw_partitions set rows_accepted = 0 where hour = %s", [HOUR])
    (outcome,) = raw_volume(conn, [HOUR], now=HOUR + timedelta(minutes=30))
    assert outcome.passed and "not over yet" in outcome.summary
    (outcome,) = raw_volume(conn, [HOUR])
    assert not outcome.passed


def test_a_broken_raw_hour_blocks_detection_and_shows_failing_values(settings, conn):
    _land(settings, conn, "a.csv", _calls(HOUR, 50, "a-"))
    # Damage the lake file behind the pipeline's back: a repeated record_id and a negative duration.
    path = settings.lake.root / lake.hour_key(ingest.ASSET, HOUR)
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_parquet('{path}')")
    con.execute("update t set record_id = 'a-1' where record_id = 'a-2'")
    con.execute("update t set duration_s = -5 where record_id = 'a-3'")
    con.execute(f"copy t to '{path}' (format parquet)")

    result = dg.materialize(
        [raw_cdrs, raw_cdrs_contract, caller_features], partition_key=KEY,
        resources={"sentinel": SentinelResource.from_settings(settings)}, raise_on_error=False,
    )
    check = _evaluations(result)[RAW_CONTRACT]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    failures = check.metadata["failures"].value
    assert "record_id_unique" in failures and '"a-1"' in failures
    assert "expect_column_values_to_be_between(duration_s)" in failures and "-5" in failures
    # Blocking: caller_features did not run on the broken hour.
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "caller_features" not in materialized and "raw_cdrs" in materialized
    (n_failed,) = conn.execute(
        "select count(*) from sentinel.dq_results where check_name = %s and not passed and blocking", [RAW_CONTRACT]
    ).fetchone()
    assert n_failed == 1


@pytest.mark.slow
def test_checks_run_over_a_range_and_pass_on_clean_data(settings, conn):
    for h in range(3):
        _land(settings, conn, f"h{h}.csv", _calls(HOUR + timedelta(hours=h), 80, f"h{h}-"))
    from sensors.landing import PIPELINE_JOB
    from sentinel_pipeline.definitions import build_definitions

    result = build_definitions(settings).resolve_job_def(PIPELINE_JOB).execute_in_process(
        tags={"dagster/asset_partition_range_start": KEY, "dagster/asset_partition_range_end": "2026-11-26-12:00"},
        raise_on_error=False,
    )
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations if e.check_name != RAW_VOLUME)
    (hours,) = conn.execute(
        "select count(distinct partition_hour) from sentinel.dq_results where check_name = %s", [RAW_CONTRACT]
    ).fetchone()
    assert hours == 3


def test_freshness_fails_when_nothing_materialised_the_current_hour(settings):
    from assets.checks import FRESHNESS_CHECKS
    from assets.partitions import partition_key_for

    def freshness(instance) -> bool:
        result = dg.materialize([raw_cdrs, *FRESHNESS_CHECKS], instance=instance,
                                selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS), raise_on_error=False,
                                resources={"sentinel": SentinelResource.from_settings(settings)})
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation.passed

    instance = dg.DagsterInstance.ephemeral()
    assert not freshness(instance)  # the pipeline (or its sensor) is down: asset health goes red
    # By minute 20 of an hour, its partition (the hour still filling) must have been materialised: the
    # deadline that last passed is minute 20 of the hour 20 minutes ago.
    due = (datetime.now(timezone.utc) - timedelta(minutes=20)).replace(minute=0, second=0, microsecond=0)
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="raw_cdrs", partition=partition_key_for(due)))
    assert freshness(instance)

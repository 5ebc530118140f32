"""Data-quality suites: what each asset's data must look like, validated with great-expectations 1.x.

Run by the Dagster asset checks in ``assets/checks.py``; every outcome is also kept in PostgreSQL
(``sentinel.dq_results``). great-expectations costs seconds and hundreds of MB to import, so it is
imported only when a suite runs (``_gx()``), never when this module is imported.

How much is validated:
- raw_cdrs and caller_features are validated hour by hour. GX sees a reservoir sample of at most
  ``SAMPLE_ROWS`` rows of the hour (cheap at 1M+ rows per hour); what a sample cannot prove is
  computed exactly over the whole hour by DuckDB and reported beside the GX results: the row count,
  repeated record_ids, times outside the partition hour and the column types.
- detections and alerts are small: all rows of the run's hours are validated at once.
- volume compares each hour's accepted rows with the same hour on the previous ``VOLUME_BASELINE_DAYS``
  days (``sentinel.raw_partitions``).

Every suite returns ``Outcome``s: one per hour (or per run), passed or not, with a one-line summary and
the expectation results, including a sample of failing values.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from sentinel_pipeline import cdr, features, ingest, lake
from sentinel_pipeline.settings import Settings

SAMPLE_ROWS = 100_000
FAILING_VALUES = 10  # failing values kept per expectation
# E.164 validity: below this share of plausible numbers in an hour, the feed's numbers are suspect.
MIN_VALID_NUMBER_SHARE = 0.9
# Plausible durations: nearly every call shorter than 4 h.
PLAUSIBLE_DURATION_S = 4 * 3600
PLAUSIBLE_DURATION_SHARE = 0.999
# Volume: an hour with less than this share of its usual traffic (same hour, previous days) is an incident.
VOLUME_MIN_RATIO = 0.25
VOLUME_BASELINE_DAYS = 7
VOLUME_MIN_BASELINE_ROWS = 100  # below this, an hour is too quiet to judge
VOLUME_GRACE = timedelta(minutes=15)  # an hour is judged once it has been over this long (late files)

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
ALERT_STATUSES = ("open", "investigating", "confirmed", "false_positive", "closed")

# The lake's raw_cdrs columns and their DuckDB types: the column contract.
RAW_TYPES = {
    "record_id": "VARCHAR", "seizure_time": "TIMESTAMP WITH TIME ZONE", "answer_time": "TIMESTAMP WITH TIME ZONE",
    "duration_s": "INTEGER", "a_number": "VARCHAR", "a_number_raw": "VARCHAR", "a_valid": "BOOLEAN",
    "b_number": "VARCHAR", "b_number_raw": "VARCHAR", "b_valid": "BOOLEAN", "record_type": "VARCHAR",
    "trunk_in": "VARCHAR", "trunk_out": "VARCHAR", "imsi": "VARCHAR", "imei": "VARCHAR", "cell_id": "VARCHAR",
    "release_cause": "SMALLINT", "service": "VARCHAR", "file_id": "BIGINT", "line": "BIGINT",
}
# Validated by GX on a sample (seizure_time is checked exactly, with the partition window).
RAW_REQUIRED = ("record_id", "duration_s", "a_number", "b_number", "record_type", "service", "file_id", "line")


@dataclass
class Outcome:
    asset: str
    check: str
    hour: datetime | None  # None: the outcome covers every hour of the run
    passed: bool
    summary: str
    expectations: list[dict] = field(default_factory=list)

    def failures(self) -> list[dict]:
        return [e for e in self.expectations if not e["success"]]


# --- great-expectations, imported lazily -------------------------------------------------------------

_CONTEXT: dict[str, Any] = {}


def _gx():
    """(gx, gxe, batch definition) from one ephemeral context per process."""
    if not _CONTEXT:
        import great_expectations as gx
        import great_expectations.expectations as gxe

        context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # progress bars only; never fail a check over them
            pass
        batch = (
            context.data_sources.add_pandas("sentinel")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
        _CONTEXT.update(gx=gx, gxe=gxe, context=context, batch=batch)
    return _CONTEXT["gx"], _CONTEXT["gxe"], _CONTEXT


def run_expectations(name: str, frame, expectations: list) -> list[dict]:
    """Validate ``frame`` (pandas) against GX expectation objects; one plain dict per expectation."""
    gx, _, ctx = _gx()
    context = ctx["context"]
    key = (name, repr([e.model_dump() if hasattr(e, "model_dump") else repr(e) for e in expectations]))
    validation = ctx.setdefault("validations", {}).get(key)
    if validation is None:  # one suite per distinct expectation list, reused for every frame after
        unique = f"{name}_{len(ctx['validations'])}"
        suite = context.suites.add(gx.ExpectationSuite(name=unique, expectations=expectations))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=unique, data=ctx["batch"], suite=suite)
        )
        ctx["validations"][key] = validation
    result = validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": FAILING_VALUES},
    )
    return [_plain(r) for r in result.results]


def _plain(r) -> dict:
    config = r.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
    res = r.result or {}
    out = {
        "expectation": config.type,
        "kwargs": _jsonable(kwargs),
        "success": bool(r.success),
    }
    for key in ("observed_value", "element_count", "unexpected_count", "unexpected_percent"):
        if key in res:
            out[key] = _jsonable(res[key])
    if res.get("partial_unexpected_list"):
        out["failing_values"] = _jsonable(res["partial_unexpected_list"])
    if r.exception_info and r.exception_info.get("raised_exception"):
        out["exception"] = str(r.exception_info.get("exception_message"))[:500]
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def exact(expectation: str, success: bool, observed, failing_values=None, **kwargs) -> dict:
    """An expectation computed exactly by SQL, in the same shape as a GX result."""
    out = {"expectation": expectation, "kwargs": _jsonable(kwargs), "success": bool(success),
           "observed_value": _jsonable(observed), "computed_by": "duckdb/sql, all rows"}
    if failing_values:
        out["failing_values"] = _jsonable(list(failing_values)[:FAILING_VALUES])
    return out


def _outcome(asset: str, check: str, hour, expectations: list[dict], rows: int | None = None) -> Outcome:
    failed = [e for e in expectations if not e["success"]]
    where = f"{hour:%Y-%m-%d %H:%M} UTC" if hour else "the run's hours"
    counted = f", {rows} rows" if rows is not None else ""
    if failed:
        names = ", ".join(_label(e) for e in failed[:5])
        summary = f"{where}: {len(failed)} of {len(expectations)} expectations failed{counted}: {names}"
    else:
        summary = f"{where}: all {len(expectations)} expectations met{counted}"
    return Outcome(asset, check, hour, not failed, summary, expectations)


def _label(e: dict) -> str:
    column = e["kwargs"].get("column") or e["kwargs"].get("column_A") or ""
    return f"{e['expectation']}({column})" if column else e["expectation"]


# --- raw_cdrs and caller_features: hour by hour, one GX run for the range ------------------------------

def _hour_sql(hour: datetime) -> str:
    return f"timestamptz '{hour.isoformat()}'"


def _hours_relation(settings: Settings, asset: str, hours: list[datetime]) -> tuple[str | None, list[datetime]]:
    """A DuckDB relation over the lake files of ``hours``, with their partition hour as ``part_hour``;
    and the hours that have no lake file."""
    present, missing = [], []
    for h in hours:
        path = lake.hour_path(settings.lake_dir, asset, h)
        (present if path.exists() else missing).append((h, path))
    if not present:
        return None, [h for h, _ in missing]
    union = "\n    union all by name\n    ".join(
        f"select *, {_hour_sql(h)} as part_hour from read_parquet('{path}')" for h, path in present
    )
    return f"(\n    {union}\n)", [h for h, _ in missing]


def _sample_by_hour(con, relation: str, columns: str, rows_by_hour: dict, key: str):
    """A pseudo-random sample of every hour (SAMPLE_ROWS shared among the hours, at least 1,000 each) as
    one pandas frame: rows whose hash of ``key`` falls under the hour's fraction, so one pass, no sort,
    and the same rows every time."""
    per_hour = max(1_000, SAMPLE_ROWS // max(len(rows_by_hour), 1))
    fractions = ", ".join(
        f"({_hour_sql(h)}, {min(1.0, per_hour / n) if n else 1.0}::double)" for h, n in rows_by_hour.items()
    ) or f"({_hour_sql(datetime(2000, 1, 1, tzinfo=timezone.utc))}, 1.0)"
    return con.execute(
        f"""
        select {columns}, part_hour
        from {relation} join (values {fractions}) as f(f_hour, fraction) on part_hour = f_hour
        where fraction >= 1 or (hash({key}) % 1000000)::double < fraction * 1000000
        """
    ).df()


def _gx_by_hour(check: str, frame, expectations_for, hours: list[datetime]) -> dict[datetime, list[dict]]:
    """GX results per hour: one validation of the whole sample; only when it fails, one per hour, so
    that each failure is pinned on its hour."""
    if frame.empty:
        return {}
    whole = run_expectations(check, frame.drop(columns=["part_hour"]), expectations_for())
    if all(e["success"] for e in whole):
        return {h: whole for h in hours}
    results = {}
    for h, part in frame.groupby("part_hour"):
        hour = next(x for x in hours if x == h)
        results[hour] = run_expectations(check, part.drop(columns=["part_hour"]), expectations_for())
    return results


def raw_contract(settings: Settings, hours: list[datetime], check: str = "raw_cdrs_contract") -> list[Outcome]:
    """The column contract of raw_cdrs hours: presence, types, nulls, ranges, value sets, the hour's
    window and unique record_ids."""
    _, gxe, _ = _gx()
    relation, missing = _hours_relation(settings, ingest.ASSET, hours)
    outcomes = {h: _outcome(ingest.ASSET, check, h, [exact("lake_file_exists", False, "no lake file")]) for h in missing}
    if relation is None:
        return [outcomes[h] for h in hours]
    con = cdr.connect_duckdb(settings)
    con.execute("set TimeZone = 'UTC'")
    exact_by_hour: dict[datetime, list[dict]] = {}
    for h in hours:
        if h in outcomes:
            continue
        path = lake.hour_path(settings.lake_dir, ingest.ASSET, h)
        types = {n: k for n, k, *_ in con.execute(f"describe select * from read_parquet('{path}')").fetchall()}
        wrong = {c: types.get(c, "missing") for c, t in RAW_TYPES.items() if types.get(c) != t}
        exact_by_hour[h] = [exact("columns_have_contract_types", not wrong, wrong or "as contracted",
                                  [f"{c}: {t}" for c, t in wrong.items()], expected=RAW_TYPES)]
    # What a sample cannot prove, exactly over every row, in one pass.
    facts = {
        h: (rows, outside, outside_values, repeated, repeated_values)
        for h, rows, outside, outside_values, repeated, repeated_values in con.execute(
            f"""
            with hours as (
                select part_hour,
                    count(*) as rows,
                    count(*) filter (where seizure_time is null or not (seizure_time >= part_hour and seizure_time < part_hour + interval 1 hour)) as outside,
                    list(coalesce(seizure_time::varchar, 'null')) filter (where seizure_time is null or not (seizure_time >= part_hour and seizure_time < part_hour + interval 1 hour))[1:{FAILING_VALUES}] as outside_values
                from {relation} group by part_hour
            ),
            repeated as (
                select part_hour, count(*) as repeated, list(record_id)[1:{FAILING_VALUES}] as repeated_values
                from (select part_hour, record_id from {relation} group by all having count(*) > 1)
                group by part_hour
            )
            select part_hour, rows, outside, outside_values, coalesce(repeated, 0), repeated_values
            from hours left join repeated using (part_hour)
            """
        ).fetchall()
    }
    frame = _sample_by_hour(con, relation, ", ".join(RAW_REQUIRED), {h: f[0] for h, f in facts.items()}, "file_id, line")
    con.close()

    def suite():
        e = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in RAW_REQUIRED]
        return e + [
            gxe.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, max_value=cdr.MAX_DURATION_S),
            gxe.ExpectColumnValuesToBeInSet(column="record_type", value_set=list(cdr.RECORD_TYPES)),
            gxe.ExpectColumnValuesToBeInSet(column="service", value_set=["voice", "sms"]),
            gxe.ExpectColumnValuesToMatchRegex(column="a_number", regex=r"^\S+$"),
            gxe.ExpectColumnValuesToBeBetween(column="line", min_value=1),
        ]

    gx_results = _gx_by_hour(check, frame, suite, hours)
    for h in hours:
        if h in outcomes:
            continue
        rows, outside, outside_values, repeated, repeated_values = facts.get(h, (0, 0, [], 0, []))
        expectations = exact_by_hour[h] + [
            exact("seizure_time_not_null_and_inside_partition_hour", outside == 0, {"rows_outside": outside}, outside_values,
                  min_value=h, max_value_exclusive=h + timedelta(hours=1)),
            exact("record_id_unique", repeated == 0, {"repeated_record_ids": repeated}, repeated_values),
        ] + gx_results.get(h, [])
        outcomes[h] = _outcome(ingest.ASSET, check, h, expectations, rows)
    return [outcomes[h] for h in hours]


def raw_plausibility(settings: Settings, hours: list[datetime], check: str = "raw_cdrs_plausibility") -> list[Outcome]:
    """What a healthy feed looks like, hour by hour: mostly valid E.164 numbers, plausible durations. A
    warning only: an invalid CLI is also a fraud signal, not only dirty data. GX validates one row per
    hour of exact shares, so a failing value is the share of the failing hour."""
    _, gxe, _ = _gx()
    relation, missing = _hours_relation(settings, ingest.ASSET, hours)
    if relation is None:
        return [_outcome(ingest.ASSET, check, h, [], 0) for h in hours]
    con = cdr.connect_duckdb(settings)
    frame = con.execute(
        f"""
        select part_hour, count(*) as rows,
            avg(a_valid::int) as a_valid_share,
            avg(b_valid::int) as b_valid_share,
            avg((duration_s <= {PLAUSIBLE_DURATION_S})::int) as plausible_duration_share,
            list(a_number_raw) filter (where not a_valid)[1:{FAILING_VALUES}] as invalid_a,
            list(b_number_raw) filter (where not b_valid)[1:{FAILING_VALUES}] as invalid_b,
            list(duration_s) filter (where duration_s > {PLAUSIBLE_DURATION_S})[1:{FAILING_VALUES}] as long_durations
        from {relation} group by part_hour
        """
    ).df()
    con.close()
    bounds = {"a_valid_share": (MIN_VALID_NUMBER_SHARE, "invalid_a"), "b_valid_share": (MIN_VALID_NUMBER_SHARE, "invalid_b"),
              "plausible_duration_share": (PLAUSIBLE_DURATION_SHARE, "long_durations")}
    gx_results = run_expectations(check, frame[list(bounds)], [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=1) for c, (low, _) in bounds.items()
    ])
    by_hour = {row.part_hour.to_pydatetime(): row for row in frame.itertuples()}
    outcomes = []
    for h in hours:
        row = by_hour.get(h)
        if row is None:
            outcomes.append(_outcome(ingest.ASSET, check, h, [], 0))
            continue
        expectations = []
        for column, (low, examples) in bounds.items():
            share = getattr(row, column)
            e = exact(f"{column}_at_least", share >= low, round(float(share), 6),
                      None if share >= low else list(getattr(row, examples)), min_value=low)
            e["computed_by"] = "duckdb per hour; validated with great-expectations over all hours"
            expectations.append(e)
        outcome = _outcome(ingest.ASSET, check, h, expectations, int(row.rows))
        outcomes.append(outcome)
    if outcomes and not all(o.passed for o in outcomes):
        outcomes[0].expectations.append({"expectation": "gx_suite_over_hourly_shares", "kwargs": {},
                                         "success": all(e["success"] for e in gx_results), "gx": gx_results})
    return outcomes


def raw_volume(conn: psycopg.Connection, hours: list[datetime], check: str = "raw_cdrs_volume",
               now: datetime | None = None) -> list[Outcome]:
    """Each hour's accepted rows against the median of the same hour on the previous days: an hour with
    no rows, or far fewer than usual, is a missing or broken feed. An hour still filling (or over for
    less than VOLUME_GRACE) is not judged yet."""
    now = now or datetime.now(timezone.utc)
    earlier = [h - timedelta(days=d) for h in hours for d in range(1, VOLUME_BASELINE_DAYS + 1)]
    counts = dict(conn.execute(
        "select hour, rows_accepted from sentinel.raw_partitions where hour = any(%s)", [hours + earlier]
    ).fetchall())
    outcomes = []
    for h in hours:
        history = [counts[e] for e in (h - timedelta(days=d) for d in range(1, VOLUME_BASELINE_DAYS + 1)) if e in counts]
        baseline = statistics.median(history) if history else None
        rows = counts.get(h)
        observed = {"rows_accepted": rows, "baseline_median": baseline, "baseline_days": len(history),
                    "history": history}
        over = h + timedelta(hours=1) + VOLUME_GRACE <= now
        judged = over and baseline is not None and baseline >= VOLUME_MIN_BASELINE_ROWS
        ok = (not judged) or (rows or 0) >= VOLUME_MIN_RATIO * baseline
        e = exact("hour_volume_near_baseline", ok, observed,
                  min_ratio=VOLUME_MIN_RATIO, baseline="median of the same hour, previous days")
        outcome = _outcome(ingest.ASSET, check, h, [e], rows or 0)
        if not ok:
            outcome.summary = (
                f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows accepted, usually {baseline:g} "
                f"(same hour, {len(history)} previous days): " + ("no data: feed stopped?" if not rows else "feed partly missing?")
            )
        elif not over:
            outcome.summary = f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows so far; the hour is not over yet"
        elif not judged:
            outcome.summary = f"{h:%Y-%m-%d %H:%M} UTC: {rows or 0} rows; no baseline yet to judge the volume by"
        outcomes.append(outcome)
    return outcomes


# --- caller_features ------------------------------------------------------------------------------------

def features_contract(settings: Settings, hours: list[datetime], check: str = "caller_features_contract") -> list[Outcome]:
    """Feature hours: one row per caller, all of the partition hour, counts and shares in range, a longer
    window never counting fewer calls than the shortest."""
    _, gxe, _ = _gx()
    relation, missing = _hours_relation(settings, features.ASSET, hours)
    outcomes = {h: _outcome(features.ASSET, check, h, [exact("lake_file_exists", False, "no lake file")]) for h in missing}
    if relation is None:
        return [outcomes[h] for h in hours]
    con = cdr.connect_duckdb(settings)
    con.execute("set TimeZone = 'UTC'")
    windows = settings.feature_windows_hours
    shortest = min(windows)
    wanted = ["caller"] + [f"{m}_{w}h" for w in windows for m in
                           ("calls", "avg_duration_s", "short_call_share", "distinct_callees")]
    columns = {c for c, *_ in con.execute(f"describe select * from {relation}").fetchall()}
    absent = [c for c in wanted if c not in columns]
    if absent:
        con.close()
        return [outcomes.get(h) or _outcome(features.ASSET, check, h, [exact("columns_present", False, absent, absent)])
                for h in hours]
    facts = {
        h: rest
        for h, *rest in con.execute(
            f"""
            with hours as (
                select part_hour, count(*) as rows,
                    count(*) filter (where hour <> part_hour) as other_hour,
                    list(distinct hour::varchar) filter (where hour <> part_hour)[1:{FAILING_VALUES}] as other_values
                from {relation} group by part_hour
            ),
            repeated as (
                select part_hour, count(*) as repeated, list(caller)[1:{FAILING_VALUES}] as repeated_values
                from (select part_hour, caller from {relation} group by all having count(*) > 1)
                group by part_hour
            )
            select part_hour, rows, other_hour, other_values, coalesce(repeated, 0), repeated_values
            from hours left join repeated using (part_hour)
            """
        ).fetchall()
    }
    frame = _sample_by_hour(con, relation, ", ".join(wanted), {h: f[0] for h, f in facts.items()}, "caller")
    con.close()

    def suite():
        e = [gxe.ExpectColumnValuesToNotBeNull(column="caller"),
             gxe.ExpectColumnValuesToBeBetween(column=f"calls_{shortest}h", min_value=1)]
        for w in windows:
            e += [
                gxe.ExpectColumnValuesToBeBetween(column=f"calls_{w}h", min_value=0),
                gxe.ExpectColumnValuesToBeBetween(column=f"short_call_share_{w}h", min_value=0, max_value=1),
                gxe.ExpectColumnValuesToBeBetween(column=f"avg_duration_s_{w}h", min_value=0, max_value=cdr.MAX_DURATION_S),
                gxe.ExpectColumnValuesToBeBetween(column=f"distinct_callees_{w}h", min_value=0),
            ]
            if w != shortest:
                e.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f"calls_{w}h", column_B=f"calls_{shortest}h", or_equal=True))
        return e

    gx_results = _gx_by_hour(check, frame, suite, hours)
    for h in hours:
        if h in outcomes:
            continue
        rows, other, other_values, repeated, repeated_values = facts.get(h, (0, 0, [], 0, []))
        expectations = [
            exact("hour_is_partition_hour", other == 0, {"rows_of_other_hours": other}, other_values),
            exact("caller_unique_in_hour", repeated == 0, {"repeated_callers": repeated}, repeated_values),
        ] + gx_results.get(h, [])
        outcomes[h] = _outcome(features.ASSET, check, h, expectations, rows)
    return [outcomes[h] for h in hours]


# --- detections and alerts (PostgreSQL) -----------------------------------------------------------------

def _frame(conn: psycopg.Connection, sql: str, params: dict):
    import pandas as pd

    cur = conn.execute(sql, params)
    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def detections_contract(conn: psycopg.Connection, detector: str, asset: str, hours: list[datetime],
                        check: str = "detections_contract") -> Outcome:
    _, gxe, _ = _gx()
    frame = _frame(conn, """
        select subject_type, subject, severity::text as severity, score,
               extract(epoch from last_seen - first_seen) as seen_span_s,
               extract(epoch from window_end - window_start) as window_s,
               partition_hour::text as partition_hour, metrics is not null as has_metrics
        from sentinel.detections
        where detector = %(detector)s and partition_hour = any(%(hours)s::timestamptz[])
        """, {"detector": detector, "hours": hours})
    if frame.empty:
        return _outcome(asset, check, None, [], 0)
    expectations = run_expectations(check, frame, [
        gxe.ExpectColumnValuesToNotBeNull(column="subject"),
        gxe.ExpectColumnValuesToBeInSet(column="subject_type", value_set=["msisdn", "imei", "trunk", "imsi", "cell", "destination", "range", "prefix"]),
        gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=list(SEVERITIES)),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="seen_span_s", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="window_s", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="has_metrics", value_set=[True]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["partition_hour", "subject_type", "subject"]),
    ])
    return _outcome(asset, check, None, expectations, len(frame))


def alerts_contract(conn: psycopg.Connection, hours: list[datetime], check: str = "alerts_contract") -> Outcome:
    """The alerts of every subject detected in the run's hours: valid triage states, severities, scores."""
    _, gxe, _ = _gx()
    frame = _frame(conn, """
        select a.detector, a.subject_type, a.subject, a.severity::text as severity, a.score, a.status,
               extract(epoch from a.last_seen - a.first_seen) as seen_span_s, a.evidence is not null as has_evidence
        from sentinel.alerts a
        where (a.detector, a.subject_type, a.subject) in (
            select detector, subject_type, subject from sentinel.detections
            where partition_hour = any(%(hours)s::timestamptz[]))
        """, {"hours": hours})
    if frame.empty:
        return _outcome("alerts", check, None, [], 0)
    expectations = run_expectations(check, frame, [
        gxe.ExpectColumnValuesToBeInSet(column="severity", value_set=list(SEVERITIES)),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ALERT_STATUSES)),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="seen_span_s", min_value=0),
        gxe.ExpectColumnValuesToBeInSet(column="has_evidence", value_set=[True]),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["detector", "subject_type", "subject"]),
    ])
    return _outcome("alerts", check, None, expectations, len(frame))


# --- keeping results ------------------------------------------------------------------------------------

def save_results(conn: psycopg.Connection, outcomes: list[Outcome], *, severity: str, blocking: bool,
                 run_id: str | None) -> None:
    """One sentinel.dq_results row per outcome."""
    with conn.transaction():
        conn.cursor().executemany(
            """
            insert into sentinel.dq_results
                (run_id, asset, check_name, partition_hour, passed, severity, blocking, summary, details)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (run_id, o.asset, o.check, o.hour, o.passed, severity, blocking, o.summary,
                 Jsonb({"expectations": o.expectations}))
                for o in outcomes
            ],
        )


def failures_markdown(outcomes: list[Outcome], limit: int = 30) -> str:
    """A table of the failed expectations with their observed and failing values, for the UI."""
    lines = ["| hour | expectation | observed | failing values |", "|---|---|---|---|"]
    for o in outcomes:
        for e in o.failures():
            hour = f"{o.hour:%Y-%m-%d %H:%M}" if o.hour else "all"
            observed = e.get("observed_value", e.get("unexpected_count", ""))
            if "unexpected_percent" in e:
                observed = f"{e.get('unexpected_count')} rows ({e['unexpected_percent']:.3g} %)"
            values = ", ".join(json.dumps(v) for v in e.get("failing_values", []))[:300]
            lines.append(f"| {hour} | {_label(e)} | {json.dumps(observed)[:200]} | {values} |".replace("\n", " "))
            if len(lines) - 2 >= limit:
                return "\n".join(lines + ["| … | | | |"])
    return "\n".join(lines)

"""Suites over the Parquet lake, hour by hour: the raw_cdrs contract and plausibility, the
caller_features contract.

GX sees a reservoir sample of at most ``SAMPLE_ROWS`` rows of each hour (cheap at 1M+ rows per hour);
what a sample cannot prove is computed exactly over the whole hour by DuckDB and reported beside the GX
results: the row count, repeated record_ids, times outside the partition hour and the column types.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sentinel_pipeline import duck, features, ingest, lake, schema
from sentinel_pipeline.cdr.normalise import MAX_DURATION_S
from sentinel_pipeline.duck import literal
from sentinel_pipeline.quality.gx import FAILING_VALUES, exact, modules, run_expectations
from sentinel_pipeline.quality.results import Outcome
from sentinel_pipeline.settings import Settings

SAMPLE_ROWS = 100_000
# E.164 validity: below this share of plausible numbers in an hour, the feed's numbers are suspect.
MIN_VALID_NUMBER_SHARE = 0.9
# Plausible durations: nearly every call shorter than 4 h.
PLAUSIBLE_DURATION_S = 4 * 3600
PLAUSIBLE_DURATION_SHARE = 0.999
# Validated by GX on a sample (seizure_time is checked exactly, with the partition window).
RAW_REQUIRED = ("record_id", "duration_s", "a_number", "b_number", "record_type", "service", "file_id", "line")

def _hours_relation(settings: Settings, asset: str, hours: list[datetime]) -> tuple[str | None, list[datetime]]:
    """A DuckDB relation over the lake files of ``hours``, with their partition hour as ``part_hour``;
    and the hours that have no lake file."""
    existing = set(lake.existing_keys(settings.lake, asset, hours))
    present = [(h, settings.lake.url(lake.hour_key(asset, h))) for h in hours if lake.hour_key(asset, h) in existing]
    missing = [h for h in hours if lake.hour_key(asset, h) not in existing]
    if not present:
        return None, missing
    union = "\n    union all by name\n    ".join(
        f"select *, {literal(h)} as part_hour from read_parquet({literal(url)})" for h, url in present
    )
    return f"(\n    {union}\n)", missing


def _sample_by_hour(con, relation: str, columns: str, rows_by_hour: dict, key: str):
    """A pseudo-random sample of every hour (SAMPLE_ROWS shared among the hours, at least 1,000 each) as
    one pandas frame: rows whose hash of ``key`` falls under the hour's fraction, so one pass, no sort,
    and the same rows every time."""
    per_hour = max(1_000, SAMPLE_ROWS // max(len(rows_by_hour), 1))
    fractions = ", ".join(
        f"({literal(h)}, {min(1.0, per_hour / n) if n else 1.0}::double)" for h, n in rows_by_hour.items()
    ) or f"({literal(datetime(2000, 1, 1, tzinfo=timezone.utc))}, 1.0)"
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
    _, gxe, _ = modules()
    relation, missing = _hours_relation(settings, ingest.ASSET, hours)
    outcomes = {h: Outcome.of(ingest.ASSET, check, h, [exact("lake_file_exists", False, "no lake file")]) for h in missing}
    if relation is None:
        return [outcomes[h] for h in hours]
    with duck.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        exact_by_hour: dict[datetime, list[dict]] = {}
        for h in hours:
            if h in outcomes:
                continue
            path = settings.lake.url(lake.hour_key(ingest.ASSET, h))
            types = {n: k for n, k, *_ in con.execute(f"describe select * from read_parquet({literal(path)})").fetchall()}
            wrong = {c: types.get(c, "missing") for c, t in schema.RAW_CDR_COLUMNS.items() if types.get(c) != t}
            exact_by_hour[h] = [exact("columns_have_contract_types", not wrong, wrong or "as contracted",
                                      [f"{c}: {t}" for c, t in wrong.items()], expected=schema.RAW_CDR_COLUMNS)]
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

    def suite():
        e = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in RAW_REQUIRED]
        return e + [
            gxe.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, max_value=MAX_DURATION_S),
            gxe.ExpectColumnValuesToBeInSet(column="record_type", value_set=list(schema.RECORD_TYPES)),
            gxe.ExpectColumnValuesToBeInSet(column="service", value_set=list(schema.SERVICES)),
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
        outcomes[h] = Outcome.of(ingest.ASSET, check, h, expectations, rows)
    return [outcomes[h] for h in hours]


def raw_plausibility(settings: Settings, hours: list[datetime], check: str = "raw_cdrs_plausibility") -> list[Outcome]:
    """What a healthy feed looks like, hour by hour: mostly valid E.164 numbers, plausible durations. A
    warning only: an invalid CLI is also a fraud signal, not only dirty data. GX validates one row per
    hour of exact shares, so a failing value is the share of the failing hour."""
    _, gxe, _ = modules()
    relation, missing = _hours_relation(settings, ingest.ASSET, hours)
    if relation is None:
        return [Outcome.of(ingest.ASSET, check, h, [], 0) for h in hours]
    with duck.connect(settings) as con:
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
            outcomes.append(Outcome.of(ingest.ASSET, check, h, [], 0))
            continue
        expectations = []
        for column, (low, examples) in bounds.items():
            share = getattr(row, column)
            e = exact(f"{column}_at_least", share >= low, round(float(share), 6),
                      None if share >= low else list(getattr(row, examples)), min_value=low)
            e["computed_by"] = "duckdb per hour; validated with great-expectations over all hours"
            expectations.append(e)
        outcome = Outcome.of(ingest.ASSET, check, h, expectations, int(row.rows))
        outcomes.append(outcome)
    if outcomes and not all(o.passed for o in outcomes):
        outcomes[0].expectations.append({"expectation": "gx_suite_over_hourly_shares", "kwargs": {},
                                         "success": all(e["success"] for e in gx_results), "gx": gx_results})
    return outcomes


def features_contract(settings: Settings, hours: list[datetime], check: str = "caller_features_contract") -> list[Outcome]:
    """Feature hours: one row per caller, all of the partition hour, counts and shares in range, a longer
    window never counting fewer calls than the shortest."""
    _, gxe, _ = modules()
    relation, missing = _hours_relation(settings, features.ASSET, hours)
    outcomes = {h: Outcome.of(features.ASSET, check, h, [exact("lake_file_exists", False, "no lake file")]) for h in missing}
    if relation is None:
        return [outcomes[h] for h in hours]
    with duck.connect(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        windows = settings.feature_windows_hours
        shortest = min(windows)
        wanted = ["caller"] + [f"{m}_{w}h" for w in windows for m in
                               ("calls", "avg_duration_s", "short_call_share", "distinct_callees")]
        columns = {c for c, *_ in con.execute(f"describe select * from {relation}").fetchall()}
        absent = [c for c in wanted if c not in columns]
        if absent:
            return [outcomes.get(h) or Outcome.of(features.ASSET, check, h, [exact("columns_present", False, absent, absent)])
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

    def suite():
        e = [gxe.ExpectColumnValuesToNotBeNull(column="caller"),
             gxe.ExpectColumnValuesToBeBetween(column=f"calls_{shortest}h", min_value=1)]
        for w in windows:
            e += [
                gxe.ExpectColumnValuesToBeBetween(column=f"calls_{w}h", min_value=0),
                gxe.ExpectColumnValuesToBeBetween(column=f"short_call_share_{w}h", min_value=0, max_value=1),
                gxe.ExpectColumnValuesToBeBetween(column=f"avg_duration_s_{w}h", min_value=0, max_value=MAX_DURATION_S),
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
        outcomes[h] = Outcome.of(features.ASSET, check, h, expectations, rows)
    return [outcomes[h] for h in hours]



"""raw_cdrs: the hour's CDRs, normalised and de-duplicated, in the Parquet lake."""


import dagster as dg

from assets.metadata import DATA_OWNERS, column_schema, report_row_counts
from assets.partitions import HOURLY, hold_hours, partition_hours, run_in_progress
from assets.steps import HEAVY_STEP
from resources import SentinelResource
from sentinel_pipeline import ingest, registry, schema, work


@dg.asset(
    **HOURLY,
    op_tags=HEAVY_STEP,
    kinds={"duckdb", "parquet"},
    group_name="cdrs",
    code_version=ingest.code_version(),
    owners=DATA_OWNERS,
    tags={"layer": "raw"},
    metadata={"dagster/column_schema": column_schema(schema.RAW_CDR_COLUMNS)},
)
def raw_cdrs(context: dg.AssetExecutionContext, sentinel: SentinelResource) -> dg.MaterializeResult:
    """CDRs of the hour from every registered landing file: numbers in E.164, times in UTC, one row per
    record_id, written to ``<lake>/raw_cdrs/<date>/<HHMM>.parquet``. Rows that cannot be used are kept in
    ``sentinel.cdr_rejects`` with file, line and reason. Hours whose input files did not change since
    they were last written are left as they are."""
    settings = sentinel.settings()
    hours = partition_hours(context)
    with sentinel.postgres() as conn:
        hold_hours(context, conn)
        summary = ingest.build_raw_hours(settings, conn, hours)
        # The raw hours before this run's first that a run beside it is writing (a split back-fill).
        work.wait_for_lookback(conn, settings, context.run.run_id, hours, run_in_progress(context), log=context.log)
        # What this run's derived partitions are built from (its last step records them as done with it).
        work.record_inputs(conn, context.run.run_id, hours)
        quarantined = registry.recent_quarantine(conn)
        report_row_counts(context, registry.raw_row_counts(conn, hours))
    context.log.info(
        f"{summary.hours_written}/{summary.hours} hours rebuilt from {summary.files} files: "
        f"{summary.accepted} accepted, {summary.rejected} rejected, {summary.duplicates} duplicates; "
        + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in summary.stages.items())
    )
    reasons = "\n".join(f"| {reason} | {n} |" for reason, n in summary.reject_reasons.items())
    return dg.MaterializeResult(
        metadata={
            "hours": summary.hours,
            "hours_rebuilt": summary.hours_written,
            "files_read": summary.files,
            "rows_read": summary.rows_read,
            "rows_accepted": summary.accepted,
            "rows_rejected": summary.rejected,
            "duplicates_dropped": summary.duplicates,
            # Schema drift and broken files (docs/data-quality.md): shown, never fatal.
            "ignored_columns": dg.MetadataValue.json(summary.extra_columns),
            "files_read_line_by_line": dg.MetadataValue.json(summary.read_line_by_line),
            "quarantined_files": dg.MetadataValue.md(
                "| file | reason | seen |\n|---|---|---|\n"
                + "\n".join(f"| {p} | {r} | {t:%Y-%m-%d %H:%M} |" for p, r, t in quarantined)
                if quarantined else "none waiting to be fixed"
            ),
            "seconds": round(summary.seconds, 2),
            "seconds_by_step": dg.MetadataValue.json({k: round(v, 2) for k, v in summary.stages.items()}),
            "rows_per_second": round(summary.rows_read / summary.seconds) if summary.seconds else 0,
            "reject_reasons": dg.MetadataValue.md(
                "| reason | rows |\n|---|---|\n" + reasons if reasons else "no rejected rows"
            ),
        }
    )

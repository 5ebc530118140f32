"""Detector assets, one per spec in ``sentinel_pipeline.detectors.REGISTRY``: each writes its findings for
the hour to ``sentinel.detections``.

Everything about an asset comes from its spec: the name (``<detector>_detections``), the description (the
detector module's docstring: its rule), the run config (the parameters class), the partition mapping
onto its source (the parameters' ``lookback_hours``) and the reference files it depends on.
"""

import dagster as dg

from assets.cdrs import raw_cdrs
from assets.features import caller_features
from assets.metadata import FRAUD_OWNERS, column_schema, report_row_counts
from assets.partitions import HOURLY, hold_hours, partition_hours
from assets.steps import LIGHT_STEP
from assets.reference import REFERENCE_ASSETS
from resources import SentinelResource
from sentinel_pipeline import schema
from sentinel_pipeline.detectors import REGISTRY
from sentinel_pipeline.detectors.run import DetectionSummary, run_detector
from sentinel_pipeline.detectors.spec import DetectorSpec

SOURCE_ASSETS = {"raw_cdrs": raw_cdrs, "caller_features": caller_features}


def top_table(summary: DetectionSummary, columns: tuple[str, ...]) -> dg.MetadataValue:
    header = "| subject | severity | score | " + " | ".join(columns) + " |"
    lines = [header, "|" + "---|" * (3 + len(columns))]
    for row in summary.top:
        values = " | ".join(str(row["metrics"].get(c, "")) for c in columns)
        lines.append(f"| {row['subject']} | {row['severity']} | {row['score']} | {values} |")
    return dg.MetadataValue.md("\n".join(lines) if summary.top else "no detections")


def config_schema(spec: DetectorSpec) -> dict[str, dg.Field]:
    """The launchpad's run config: every parameter, with the detector's default."""
    return {name: dg.Field(kind, default_value=default, is_required=False)
            for name, (kind, default) in spec.params.fields().items()}


def detector_asset(spec: DetectorSpec) -> dg.AssetsDefinition:
    source = dg.AssetDep(
        SOURCE_ASSETS[spec.source],
        partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-spec.default_params.lookback_hours, end_offset=0),
    )
    references = [REFERENCE_ASSETS[name] for name in sorted({"whitelist.csv", *spec.reference_files})]

    @dg.asset(
        name=spec.asset_name,
        description=spec.description,
        deps=[source, *references],
        config_schema=config_schema(spec),
        **HOURLY,
        op_tags=LIGHT_STEP,
        kinds={"duckdb", "postgres"},
        group_name="detections",
        code_version=spec.code_version(),
        owners=FRAUD_OWNERS,
        tags={"layer": "detections", "detector": spec.name},
        metadata={"dagster/column_schema": column_schema(schema.DETECTION_COLUMNS)},
    )
    def _detect(context: dg.AssetExecutionContext, sentinel: SentinelResource) -> dg.MaterializeResult:
        params = spec.parameters(context.op_execution_context.op_config)
        with sentinel.postgres() as conn:
            hold_hours(context, conn)
            summary = run_detector(sentinel.settings(), conn, spec, params, partition_hours(context), context.run.run_id)
        report_row_counts(context, summary.by_hour)
        return dg.MaterializeResult(
            metadata={
                "detections": summary.detections,
                **{f"severity_{s.lower()}": n for s, n in sorted(summary.by_severity.items())},
                "top_suspects": top_table(summary, spec.summary_columns),
                "parameters": dg.MetadataValue.json(params.model_dump()),
            }
        )

    return _detect


DETECTION_ASSETS = [detector_asset(spec) for spec in REGISTRY]

"""alerts: the cases analysts work, kept in step with the detections."""


import dagster as dg

from assets.detections import DETECTION_ASSETS
from assets.metadata import FRAUD_OWNERS, code_version
from assets.partitions import HOURLY, hold_hours, partition_hours
from assets.steps import LIGHT_STEP
from resources import SentinelResource
from sentinel_pipeline import leases, store, work
from sentinel_pipeline.detectors import NAMES


@dg.asset(
    **HOURLY,
    op_tags=LIGHT_STEP,
    deps=DETECTION_ASSETS,
    kinds={"postgres"},
    group_name="alerts",
    code_version=code_version(store.REFRESH_ALERTS, work.RECORD_DONE),
    owners=FRAUD_OWNERS,
    tags={"layer": "alerts"},
)
def alerts(context: dg.AssetExecutionContext, sentinel: SentinelResource) -> dg.MaterializeResult:
    """One row per (detector, subject) in sentinel.alerts, recomputed from all of the subject's
    detections: a new subject opens an alert, a subject seen again updates last_seen, score and evidence.
    Analysts' triage fields (status, reviewed, reviewer_notes) are never written here."""
    hours = partition_hours(context)
    counts = {}
    with sentinel.postgres() as conn:
        hold_hours(context, conn)
        for detector in NAMES:
            counts[detector] = store.refresh_alerts(conn, detector, hours)
        # The run's last step: its hours are done, with the raw inputs its raw_cdrs step saw; the leases
        # go back.
        work.record_done(conn, hours, context.run.run_id)
        leases.release(conn, context.run.run_id)
        open_by_severity = conn.execute(
            """
            select severity::text, count(*) from sentinel.alerts
            where status in ('open', 'investigating') group by severity order by severity desc
            """
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "alerts_new": sum(c["new"] for c in counts.values()),
            "alerts_updated": sum(c["updated"] for c in counts.values()),
            "by_detector": dg.MetadataValue.json(counts),
            "open_alerts": dg.MetadataValue.md(
                "| severity | open |\n|---|---|\n" + "\n".join(f"| {s} | {n} |" for s, n in open_by_severity)
            ),
        }
    )

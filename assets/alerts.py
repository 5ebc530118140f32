"""alerts: the alerts and cases analysts work, kept in step with the detections."""


import dagster as dg

from assets.cdrs import raw_cdrs
from assets.detections import DETECTION_ASSETS
from assets.metadata import FRAUD_OWNERS, code_version
from assets.partitions import HOURLY, hold_hours, partition_hours
from assets.reference import REFERENCE_ASSETS
from assets.steps import LIGHT_STEP
from resources import SETTINGS, SentinelResource
from sentinel_pipeline import case_traffic, leases, store, work
from sentinel_pipeline.detectors import NAMES

# The case traffic reads the run's hours of raw_cdrs and the 23 before them, priced with rates.csv.
TRAFFIC_INPUTS = [
    dg.AssetDep(raw_cdrs, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-case_traffic.LOOKBACK_HOURS)),
    REFERENCE_ASSETS["rates.csv"],
    REFERENCE_ASSETS["trunks.csv"],
]


@dg.asset(
    **HOURLY,
    op_tags=LIGHT_STEP,
    deps=[*DETECTION_ASSETS, *TRAFFIC_INPUTS],
    kinds={"postgres", "duckdb"},
    group_name="alerts",
    code_version=code_version(store.REFRESH_ALERTS, store.REFRESH_CASES, work.RECORD_DONE,
                              case_traffic.traffic_sql(SETTINGS), case_traffic.subject_calls_sql(SETTINGS)),
    owners=FRAUD_OWNERS,
    tags={"layer": "alerts"},
)
def alerts(context: dg.AssetExecutionContext, sentinel: SentinelResource) -> dg.MaterializeResult:
    """One row per (detector, subject) in sentinel.alerts, recomputed from all of the subject's
    detections: a new subject opens an alert, a subject seen again updates last_seen, score and evidence.
    Every alert is in one case of sentinel.cases (the SIMs and handset of a box, a trunk, a number), whose
    traffic and estimated loss for the run's hours and the 23 before them are read from the lake into
    sentinel.case_traffic. Analysts' triage fields (status, reviewed, reviewer_notes) are never written here."""
    hours = partition_hours(context)
    counts = {}
    with sentinel.postgres() as conn:
        hold_hours(context, conn)
        for detector in NAMES:
            counts[detector] = store.refresh_alerts(conn, detector, hours)
        traffic = case_traffic.refresh_case_traffic(sentinel.settings(), conn, hours)
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
            "case_traffic": dg.MetadataValue.json(traffic),
            "open_alerts": dg.MetadataValue.md(
                "| severity | open |\n|---|---|\n" + "\n".join(f"| {s} | {n} |" for s, n in open_by_severity)
            ),
        }
    )

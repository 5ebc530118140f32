"""Declarative automation: a re-materialised raw hour pulls the windows that include it, and the
landing sensor's own runs leave nothing for automation to redo."""

import os
import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from assets.partitions import partition_key_for
from sentinel_pipeline import database
from sentinel_pipeline.cli.process import process_landing

pytestmark = pytest.mark.slow


def test_upstream_changes_flow_downstream_without_duplicate_runs(settings, conn):
    from sentinel_pipeline.definitions import build_definitions

    defs = build_definitions(settings)

    hour = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    settings.landing.root.mkdir(parents=True)
    rows = ["record_id,seizure_time,duration_s,a_number,b_number"]
    rows += [f"r{i},{(hour + timedelta(minutes=i % 60)).isoformat()},1,08031110000,0806{i:07d}" for i in range(60)]
    path = settings.landing.root / "now.csv"
    path.write_text("\n".join(rows) + "\n")
    os.utime(path, (time.time() - 60, time.time() - 60))

    database.prepare_environment(settings)
    with dg.DagsterInstance.get() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        process_landing(settings)
        after_sensor_run = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert after_sensor_run.total_requested == 0

        # Someone re-runs one raw hour from the UI: its later windows, detections and alerts follow.
        job = defs.resolve_job_def("cdr_pipeline")
        job.execute_in_process(
            instance=instance,
            partition_key=partition_key_for(hour),
            asset_selection=[dg.AssetKey("raw_cdrs")],
        )
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_sensor_run.cursor)
        requested = result.get_requested_partitions(dg.AssetKey("caller_features"))
        expected = {partition_key_for(hour + timedelta(hours=h)) for h in range(4)}  # up to the current hour
        assert expected <= requested
        assert partition_key_for(hour) in result.get_requested_partitions(dg.AssetKey("alerts"))
        assert result.get_requested_partitions(dg.AssetKey("raw_cdrs")) == set()

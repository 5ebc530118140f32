"""The hourly partitions every Sentinel asset shares."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import dagster as dg

from resources import SETTINGS
from sentinel_pipeline import leases

# end_offset=1: the current, still-filling hour is a partition too, so a file landing now is processed
# now rather than when the hour ends.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=SETTINGS.partitions_start,
    timezone=SETTINGS.partition_timezone,
    end_offset=1,
)


# What every hourly asset shares: the partitions, and back-fills of any range as one run (one process
# reads the range's files once, instead of one run per hour).
HOURLY = {"partitions_def": hourly_partitions, "backfill_policy": dg.BackfillPolicy.single_run()}


# A run in one of these states may still write.
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def run_in_progress(context: dg.AssetExecutionContext) -> Callable[[str], bool]:
    """Whether the run of a run id (another lease holder) may still write."""
    def in_progress(run_id: str) -> bool:
        run = context.instance.get_run_by_id(run_id)
        return run is not None and run.status in IN_PROGRESS

    return in_progress


def hold_hours(context: dg.AssetExecutionContext, conn) -> None:
    """Take the leases of the run's hours before the step writes (``sentinel_pipeline.leases``): a run
    over any of the same hours that is still in progress is waited for."""
    leases.hold(conn, context.run.run_id, partition_hours(context), run_in_progress(context), log=context.log)


def partition_hours(context: dg.AssetExecutionContext) -> list[datetime]:
    """The UTC start of every hour in the run's partition range (one run may cover many hours)."""
    window = context.partition_time_window
    start, end = window.start.astimezone(timezone.utc), window.end.astimezone(timezone.utc)
    hours = []
    while start < end:
        hours.append(start)
        start += timedelta(hours=1)
    return hours


def partition_key_for(hour: datetime) -> str:
    """The partition key of the hour starting at the instant ``hour``."""
    return hour.astimezone(ZoneInfo(hourly_partitions.timezone)).strftime(hourly_partitions.fmt)

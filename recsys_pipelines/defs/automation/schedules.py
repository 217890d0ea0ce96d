"""The daily schedule: yesterday's partition for every registered (tenant, surface)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from recsys_algo.policy.schedule import daily_runs
from recsys_pipelines.defs.automation.run_requests import partition_run
from recsys_pipelines.defs.partitions import SCOPES_PARTITION

DAILY_SCHEDULE = "daily_partition_schedule"


def build_daily_schedule(job: dg.UnresolvedAssetJobDefinition, hour: int) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"At {hour:02d}:00 UTC, one run per registered tenant.surface for yesterday's date "
            "(run_key daily:<scope>:<date>, so a retried tick never launches twice)."
        ),
    )
    def daily_partition_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> list[dg.RunRequest] | dg.SkipReason:
        """Yesterday (relative to the tick's scheduled time) for every registered scope."""
        runs = daily_runs(
            context.instance.get_dynamic_partitions(SCOPES_PARTITION),
            context.scheduled_execution_time or dt.datetime.now(dt.UTC),
        )
        if not runs:
            return dg.SkipReason(
                f"no tenant.surface is registered in '{SCOPES_PARTITION}' yet: start the "
                "landing_scopes sensor or register one with `recsys materialize`"
            )
        return [partition_run(run) for run in runs]

    return daily_partition_schedule

"""Landing-zone sensors: register new scopes; rerun exactly the partitions whose files changed."""

from __future__ import annotations

import dagster as dg

from recsys_algo.stages.landing import landing_changes, scope_registration
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.automation.run_requests import partition_run
from recsys_pipelines.defs.automation.settings import landing_lookback_days, max_surfaces
from recsys_pipelines.defs.partitions import SCOPES_PARTITION, partition_days, scopes_partitions
from recsys_pipelines.defs.resources import StorageResource

LANDING_SENSOR = "landing_files"
SCOPES_SENSOR = "landing_scopes"


@dg.sensor(
    name=SCOPES_SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Registers raw/{tenant}/{surface}/ landing folders as tenant.surface partitions, "
    "at most RECSYS_MAX_SURFACES per tenant; folders with invalid names or past the limit are "
    "reported, never registered.",
)
def landing_scopes(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult:
    """Add every valid scope folder of the landing zone as a dynamic partition."""
    plan = scope_registration(
        storage.open(),
        context.instance.get_dynamic_partitions(SCOPES_PARTITION),
        context.cursor,
        max_surfaces(),
    )
    for warning in plan.warnings:
        context.log.warning(warning)
    return dg.SensorResult(
        dynamic_partitions_requests=(
            [scopes_partitions.build_add_request(plan.new)] if plan.new else []
        ),
        cursor=plan.cursor,
        skip_reason=plan.message,
    )


def build_landing_sensor(job: dg.UnresolvedAssetJobDefinition, hour: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=120,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Reruns exactly the (date, tenant.surface) partitions whose landing files "
        "are new or rewritten after that day's scheduled run; the first tick only records.",
    )
    def landing_files(
        context: dg.SensorEvaluationContext, storage: StorageResource
    ) -> dg.SensorResult:
        """Compare each partition's file fingerprint with the cursor; request runs for changes."""
        now = clock.utc_now()
        plan = landing_changes(
            storage.open(),
            context.cursor,
            context.instance.get_dynamic_partitions(SCOPES_PARTITION),
            now,
            hour,
            landing_lookback_days(),
            partition_days(now),
        )
        if plan.warning:
            context.log.warning(plan.warning)
        if plan.runs:
            context.log.info(plan.message)
            return dg.SensorResult(
                run_requests=[partition_run(run) for run in plan.runs], cursor=plan.cursor_text
            )
        return dg.SensorResult(cursor=plan.cursor_text, skip_reason=plan.message)

    return landing_files

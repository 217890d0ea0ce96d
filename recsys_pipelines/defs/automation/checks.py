"""Freshness: the serving manifest of every scope was published within the allowed age."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import datetime as dt

import dagster as dg

from recsys_algo.stages.freshness import check_freshness
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.automation.settings import freshness_max_age_hours
from recsys_pipelines.defs.partitions import SCOPES_PARTITION
from recsys_pipelines.defs.publish.assets import manifest
from recsys_pipelines.defs.resources import SigningResource, StorageResource

MANIFEST_FRESH = "manifest_fresh"
FRESHNESS_JOB = "manifest_freshness"
FRESHNESS_SCHEDULE = "manifest_freshness_hourly"


@dg.asset_check(
    asset=manifest,
    name=MANIFEST_FRESH,
    blocking=False,
    description="Every tenant.surface's serving manifest (current pointer, signature verified) "
    "was published within RECSYS_FRESHNESS_MAX_AGE_HOURS (48 h: two schedule intervals).",
)
def manifest_fresh(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, signing: SigningResource
) -> dg.AssetCheckResult:
    """Fails naming each scope whose serving manifest is too old or does not verify."""
    report = check_freshness(
        storage.open(),
        signing.signing_keys(),
        context.instance.get_dynamic_partitions(SCOPES_PARTITION),
        clock.utc_now(),
        dt.timedelta(hours=freshness_max_age_hours()),
    )
    return dg.AssetCheckResult(
        passed=report.passed,
        description=report.description,
        metadata={
            "max_age_hours": report.max_age_hours,
            "stale_scopes": report.stale,
            "scopes": dg.MetadataValue.json(
                {
                    r.scope: {"fresh": r.fresh, "age_hours": r.age_hours, "message": r.message}
                    for r in report.scopes
                }
            ),
        },
    )


manifest_freshness = dg.define_asset_job(
    FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(manifest_fresh),
    description="Evaluate the manifest freshness check over every tenant.surface.",
)

manifest_freshness_hourly = dg.ScheduleDefinition(
    name=FRESHNESS_SCHEDULE,
    job=manifest_freshness,
    cron_schedule="30 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly freshness check of every serving manifest (alerts when publishing stops).",
)

"""Everything automation adds to the code location, built around the daily job."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from recsys_pipelines.defs.automation.checks import (
    manifest_fresh,
    manifest_freshness,
    manifest_freshness_hourly,
)
from recsys_pipelines.defs.automation.schedules import build_daily_schedule
from recsys_pipelines.defs.automation.sensors import build_landing_sensor, landing_scopes
from recsys_pipelines.defs.automation.settings import schedule_hour


@dataclass(frozen=True)
class Automation:
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]
    jobs: list[dg.UnresolvedAssetJobDefinition]
    checks: list[dg.AssetChecksDefinition]


def build_automation(daily_job: dg.UnresolvedAssetJobDefinition) -> Automation:
    """Schedules and sensors that launch daily_job; the schedule hour is read here (env)."""
    hour = schedule_hour()
    return Automation(
        schedules=[build_daily_schedule(daily_job, hour), manifest_freshness_hourly],
        sensors=[build_landing_sensor(daily_job, hour), landing_scopes],
        jobs=[manifest_freshness],
        checks=[manifest_fresh],
    )

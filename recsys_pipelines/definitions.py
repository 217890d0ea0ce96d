"""The single Dagster Definitions of the code location (workspace.yaml points here)."""

from __future__ import annotations

import dagster as dg

from recsys_pipelines.defs.artifacts.assets import ARTIFACT_ASSETS
from recsys_pipelines.defs.automation.checks import manifest_fresh
from recsys_pipelines.defs.automation.wiring import build_automation
from recsys_pipelines.defs.evaluation.assets import evaluation
from recsys_pipelines.defs.ingest.assets import canonical_events, raw_events
from recsys_pipelines.defs.ingest.checks import CHECKS
from recsys_pipelines.defs.publish.assets import manifest
from recsys_pipelines.defs.publish.jobs import build_jobs
from recsys_pipelines.defs.publish.serving import manifest_not_held
from recsys_pipelines.defs.resources import (
    PipelineSettings,
    SigningResource,
    StorageResource,
    resources_from_env,
)

# Who answers for the assets (the catalog's Owner column and filter): one team owns the graph.
OWNERS = ["team:recsys"]
ASSETS = dg.map_asset_specs(
    lambda spec: spec.replace_attributes(owners=OWNERS),
    [raw_events, canonical_events, *ARTIFACT_ASSETS, evaluation, manifest],
)
DAILY_JOB = "daily_partition"

daily_partition = dg.define_asset_job(
    DAILY_JOB,
    # Freshness looks at every scope; it runs on its own schedule, not inside one scope's run.
    selection=dg.AssetSelection.assets(*ASSETS) - dg.AssetSelection.checks(manifest_fresh),
    description="Ingest, validate, compute artifacts and publish one day of one scope.",
)
AUTOMATION = build_automation(daily_partition)


def build_definitions(
    storage: StorageResource | None = None,
    signing: SigningResource | None = None,
    settings: PipelineSettings | None = None,
) -> dg.Definitions:
    """Definitions with the resources given (tests), the rest from resources_from_env()."""
    if storage is None or signing is None or settings is None:
        defaults = resources_from_env()
        storage = storage or defaults.storage
        signing = signing or defaults.signing
        settings = settings or defaults.settings
    resources = {"storage": storage, "signing": signing, "settings": settings}
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=[*CHECKS, manifest_not_held, *AUTOMATION.checks],
        jobs=[daily_partition, *build_jobs(resources), *AUTOMATION.jobs],
        schedules=AUTOMATION.schedules,
        sensors=AUTOMATION.sensors,
        resources=resources,
        # Every job runs its steps in the run's own process: the multiprocess default starts a
        # process and imports the code location per step (~10x the compute of a day), and a
        # partition backfill cannot choose another executor. One run = one process, as the CLI.
        executor=dg.in_process_executor,
    )


defs = build_definitions()

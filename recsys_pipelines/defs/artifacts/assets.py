"""Artifact assets: each kind computed over the trailing window and staged for publishing."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.kinds.kind import INFO, KINDS, Kind
from recsys_algo.kinds.registry import SPECS
from recsys_algo.stages.artifacts import build_artifact
from recsys_pipelines.defs.ingest.assets import canonical_events
from recsys_pipelines.defs.partitions import ROW_COUNT, partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource


def build_artifact_asset(kind: Kind) -> dg.AssetsDefinition:
    @dg.asset(
        name=kind.value,
        partitions_def=partitions,
        group_name="artifacts",
        code_version=f"{CODE_VERSION}.{SPECS[kind].schema_version}",
        deps=[canonical_events],
        kinds={"arrow"},
        description=INFO[kind].description,
    )
    def artifact(
        context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
    ) -> dg.MaterializeResult:
        report = build_artifact(
            storage.open(), partition_of(context), kind, settings.params(), settings.window_days
        )
        blob = report.blob
        return dg.MaterializeResult(
            metadata={
                ROW_COUNT: blob.rows,
                "bytes": len(blob.data),
                "digest": blob.sha256,
                "uri": report.uri,
                "window_days_present": report.window_days_present,
                "window_events": report.window_events,
            },
            data_version=dg.DataVersion(blob.sha256),
        )

    return artifact


ARTIFACT_ASSETS = [build_artifact_asset(kind) for kind in KINDS]

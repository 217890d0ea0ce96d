"""Artifact assets: each kind computed over the trailing window and staged for publishing, or
left out (with a warning check saying why) when its inputs fall short of its minimum."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.kinds.kind import INFO, KINDS, Kind
from recsys_algo.kinds.registry import SPECS
from recsys_algo.stages.artifacts import build_artifact
from recsys_pipelines.defs.ingest.assets import canonical_events
from recsys_pipelines.defs.partitions import ROW_COUNT, partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource


def enough_data_check(kind: Kind) -> str:
    """The name of the kind's non-blocking check: did its inputs support an artifact?"""
    return f"{kind.value}_has_enough_data"


def build_artifact_asset(kind: Kind) -> dg.AssetsDefinition:
    check = enough_data_check(kind)

    @dg.asset(
        name=kind.value,
        partitions_def=partitions,
        group_name="artifacts",
        code_version=f"{CODE_VERSION}.{SPECS[kind].schema_version}",
        deps=[canonical_events],
        kinds={"arrow"},
        description=INFO[kind].description,
        check_specs=[
            dg.AssetCheckSpec(
                check,
                asset=kind.value,
                description="Warns when the kind's inputs fall short and it is left out.",
            )
        ],
    )
    def artifact(
        context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
    ) -> dg.MaterializeResult:
        report = build_artifact(
            storage.open(), partition_of(context), kind, settings.params(), settings.window_days
        )
        if report.warning:
            context.log.warning(report.warning)
        blob = report.blob
        outcome = "left out: " + report.omitted if report.omitted else "built"
        return dg.MaterializeResult(
            metadata={
                "status": outcome,
                ROW_COUNT: blob.rows if blob else 0,
                "bytes": len(blob.data) if blob else 0,
                "digest": blob.sha256 if blob else "",
                "uri": report.uri,
                "staged_set": report.set_key,
                "window_days_present": report.window_days_present,
                "window_events": report.window_events,
            },
            data_version=dg.DataVersion(blob.sha256 if blob else f"omitted-{report.set_key}"),
            check_results=[
                dg.AssetCheckResult(
                    check_name=check,
                    passed=report.omitted is None,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=outcome,
                )
            ],
        )

    return artifact


ARTIFACT_ASSETS = [build_artifact_asset(kind) for kind in KINDS]

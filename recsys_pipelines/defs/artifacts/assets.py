"""Artifact assets: each kind computed over the trailing window and staged for publishing."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.staging import StagedMeta
from recsys_algo.kinds.kind import INFO, KINDS, Kind
from recsys_algo.kinds.registry import SPECS, compute_kind
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.staging import stage_artifact
from recsys_pipelines.defs.ingest.assets import canonical_events
from recsys_pipelines.defs.partitions import partition_of, partitions
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
        p = partition_of(context)
        store = storage.open()
        read = read_model_inputs(store, p, settings.window_days)
        params = settings.params()
        blob = compute_kind(kind, read.inputs, params.of(kind))
        window = read.window
        meta = StagedMeta(
            kind=kind,
            rows=blob.rows,
            schema_version=blob.schema_version,
            window_start=window.start.isoformat(),
            window_end=window.end.isoformat(),
            window_days=window.days,
            inputs=read.fingerprints,
            parameters={kind.value: params.of(kind).as_dict(), "window_days": window.days},
            metrics={f"{kind}.rows": float(blob.rows)},
        )
        uri = stage_artifact(store, p, blob, meta)
        return dg.MaterializeResult(
            metadata={
                "rows": blob.rows,
                "bytes": len(blob.data),
                "digest": blob.sha256,
                "uri": uri,
                "window_days_present": len(window.inputs),
                "window_events": window.frame.height,
            },
            data_version=dg.DataVersion(blob.sha256),
        )

    return artifact


ARTIFACT_ASSETS = [build_artifact_asset(kind) for kind in KINDS]

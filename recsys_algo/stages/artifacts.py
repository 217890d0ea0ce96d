"""The artifact step: one kind computed over the trailing window and staged for publishing."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.recipe import LINEAGE_KEY
from recsys_algo.contracts.staging import StagedMeta
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.kinds.kind import Kind
from recsys_algo.kinds.registry import compute_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.recipes import scope_params
from recsys_algo.stages.staging import stage_artifact
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class ArtifactReport:
    blob: ArtifactBlob
    uri: str
    window_days_present: int
    window_events: int


def build_artifact(
    storage: Storage, p: Partition, kind: Kind, params: ModelParams, window_days: int
) -> ArtifactReport:
    """Read the window and the catalog, compute the kind with the scope's parameters (params,
    then its recipes), stage its bytes and metadata (which name the recipe versions)."""
    read = read_model_inputs(storage, p, window_days)
    resolved = scope_params(storage, p.tenant, p.surface, params)
    blob = compute_kind(kind, read.inputs, resolved.params.of(kind))
    window = read.window
    meta = StagedMeta(
        kind=kind,
        rows=blob.rows,
        schema_version=blob.schema_version,
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        window_days=window.days,
        inputs=read.fingerprints,
        parameters={
            kind.value: resolved.params.of(kind).as_dict(),
            "window_days": window.days,
            LINEAGE_KEY: resolved.lineage,
        },
        metrics={f"{kind}.rows": float(blob.rows)},
    )
    uri = stage_artifact(storage, p, blob, meta)
    return ArtifactReport(blob, uri, len(window.inputs), window.frame.height)

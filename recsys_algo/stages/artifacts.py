"""The artifact step: one kind computed over the trailing window and staged for publishing, or
left out with the reason its inputs fall short (kinds.minimums)."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.errors import ValidationGateError
from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.recipe import LINEAGE_KEY
from recsys_algo.contracts.staging import StagedMeta
from recsys_algo.kinds.artifacts import ArtifactBlob
from recsys_algo.kinds.kind import Kind
from recsys_algo.kinds.registry import SPECS, build_kind
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages.memory import releases_freed_memory
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.recipes import scope_params
from recsys_algo.stages.serving_note import serving_note
from recsys_algo.stages.staging import stage_artifact
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class ArtifactReport:
    label: str
    kind: Kind
    blob: ArtifactBlob | None  # None: left out
    omitted: str | None  # why it was left out
    uri: str
    set_key: str
    window_days_present: int
    window_events: int

    @property
    def warning(self) -> str | None:
        if self.omitted is None:
            return None
        return f"{self.kind} for {self.label}: left out of the manifest: {self.omitted}"


@releases_freed_memory
def build_artifact(
    storage: Storage, p: Partition, kind: Kind, params: ModelParams, window_days: int
) -> ArtifactReport:
    """Read the window and the catalog, compute the kind with the scope's parameters (params,
    then its recipes) or find why its inputs fall short, stage the bytes and metadata (which
    name the recipe versions, or the reason it is left out)."""
    resolved = scope_params(storage, p.tenant, p.surface, params)
    read = read_model_inputs(storage, p, window_days, resolved.params)
    try:
        built = build_kind(kind, read.inputs, resolved.params.of(kind))
    except ValidationGateError as exc:  # a guardrail: say what keeps serving meanwhile
        note = serving_note(storage, p.tenant, p.surface)
        raise ValidationGateError(f"{kind} for {p.label}: {exc}; {note}") from None
    blob = built.blob
    window = read.window
    rows = blob.rows if blob else 0
    meta = StagedMeta(
        kind=kind,
        rows=rows,
        schema_version=blob.schema_version if blob else SPECS[kind].schema_version,
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        window_days=window.days,
        inputs=read.fingerprints,
        parameters={
            kind.value: resolved.params.of(kind).as_dict(),
            "window_days": window.days,
            LINEAGE_KEY: resolved.lineage,
        },
        metrics={f"{kind}.rows": float(rows)},
        omitted=built.omitted,
    )
    uri = stage_artifact(storage, p, read.set_key, blob, meta)
    return ArtifactReport(
        p.label,
        kind,
        blob,
        built.omitted,
        uri,
        read.set_key,
        len(window.inputs),
        window.frame.height,
    )

"""The evaluation step: hold out the window's last day, score every kind the manifest will hold
and the blend, stage the report in the same staged set as the artifacts."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.names import Partition
from recsys_algo.contracts.recipe import LINEAGE_KEY
from recsys_algo.contracts.staging import EvaluationReport
from recsys_algo.evaluation.evaluate import EVENT_FREE_KINDS, SESSION_CASES, evaluate_window
from recsys_algo.evaluation.gate import GATE_METRICS
from recsys_algo.kinds.kind import KINDS
from recsys_algo.kinds.registry import tables_of
from recsys_algo.recipes.params import BLEND_SECTION, EVALUATION_SECTION, ModelParams
from recsys_algo.stages.memory import releases_freed_memory
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.recipes import scope_params
from recsys_algo.stages.staging import load_staged, load_staged_meta, stage_evaluation
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class EvaluationOutcome:
    label: str
    metrics: dict[str, float]
    uri: str

    @property
    def users(self) -> int:
        return int(self.metrics["users"])

    @property
    def warning(self) -> str | None:
        if any(metric in self.metrics for metric in GATE_METRICS):
            return None
        cases = int(self.metrics.get(SESSION_CASES, 0))
        return (
            f"evaluation for {self.label}: only {self.users} held-out users and {cases} "
            "held-out session positions; not measured"
        )


@releases_freed_memory
def evaluate_partition(
    storage: Storage, p: Partition, base: ModelParams, window_days: int
) -> EvaluationOutcome:
    """Metrics of the staged kinds and the blend on the window's held-out day, plus window
    sizes, with the scope's parameters (base, then its recipes)."""
    params = scope_params(storage, p.tenant, p.surface, base)
    read = read_model_inputs(storage, p, window_days, params.params)
    frame = read.inputs.events
    held = [k for k in KINDS if load_staged_meta(storage, p, read.set_key, k).omitted is None]
    # Kinds that read no events come out of the split unchanged: reuse the staged ones.
    staged = {kind: load_staged(storage, p, read.set_key, kind)[0] for kind in EVENT_FREE_KINDS}
    blobs = {kind.value: blob.data for kind, blob in staged.items() if blob is not None}
    built = tables_of(blobs, f"{p.label} staged ")
    metrics = {
        **evaluate_window(read.inputs, params.params, built, held),
        "window_events": float(frame.height),
        "window_items": float(frame["item_id"].n_unique()),
        "window_users": float(frame["user_id"].drop_nulls().n_unique()),
        "catalog_items": float(read.inputs.catalog.height),
    }
    parameters = {
        BLEND_SECTION: params.params.blend.as_dict(),
        EVALUATION_SECTION: params.params.evaluation.as_dict(),
        LINEAGE_KEY: params.lineage,
    }
    report = EvaluationReport(metrics=metrics, parameters=parameters, inputs=read.fingerprints)
    uri = stage_evaluation(storage, p, read.set_key, report)
    return EvaluationOutcome(p.label, metrics, uri)

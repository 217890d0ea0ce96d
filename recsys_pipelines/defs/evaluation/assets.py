"""Offline evaluation: hold out the window's last day and score every kind and the blend."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.contracts.staging import EvaluationReport
from recsys_algo.evaluation.evaluate import BLEND, EVENT_FREE_KINDS, evaluate_window, metric_table
from recsys_algo.kinds.kind import KINDS
from recsys_algo.kinds.registry import tables_of
from recsys_algo.stages.model_inputs import read_model_inputs
from recsys_algo.stages.staging import load_staged, stage_evaluation
from recsys_pipelines.defs.artifacts.assets import ARTIFACT_ASSETS
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource

# Plotted across partitions in the UI (numeric metadata): the ones operators watch.
PLOTTED = ("ndcg@20", "recall@20", "mrr@20", "coverage@20")


@dg.asset(
    partitions_def=partitions,
    group_name="evaluate",
    code_version=CODE_VERSION,
    deps=ARTIFACT_ASSETS,
    kinds={"scikitlearn"},
)
def evaluation(
    context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Recall, NDCG, MRR and coverage at 10 and 20 per kind and for the served blend."""
    p = partition_of(context)
    store = storage.open()
    read = read_model_inputs(store, p, settings.window_days)
    params = settings.params()
    frame = read.inputs.events
    staged = {kind: load_staged(store, p, kind)[0] for kind in EVENT_FREE_KINDS}
    built = tables_of({kind: blob.data for kind, blob in staged.items()}, f"{p.label} staged ")
    metrics = {
        **evaluate_window(read.inputs, params, built),
        "window_events": float(frame.height),
        "window_items": float(frame["item_id"].n_unique()),
        "window_users": float(frame["user_id"].drop_nulls().n_unique()),
        "catalog_items": float(read.inputs.catalog.height),
    }
    parameters = {"blend": params.blend.as_dict(), "evaluation": params.evaluation.as_dict()}
    uri = stage_evaluation(store, p, EvaluationReport(metrics=metrics, parameters=parameters))
    users = int(metrics["users"])
    if f"{BLEND}.ndcg@20" not in metrics:
        context.log.warning(f"evaluation for {p.label}: only {users} held-out users; not measured")
    plotted = {
        f"{BLEND}.{name}": metrics[f"{BLEND}.{name}"]
        for name in PLOTTED
        if f"{BLEND}.{name}" in metrics
    }
    return dg.MaterializeResult(
        metadata={
            "users": users,
            "metrics": dg.MetadataValue.md(metric_table(metrics, (*KINDS, BLEND))),
            **{name: dg.MetadataValue.float(value) for name, value in plotted.items()},
            "uri": uri,
        }
    )

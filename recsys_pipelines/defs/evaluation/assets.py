"""Offline evaluation: hold out the window's last day and score every kind and the blend."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import math

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.evaluation.evaluate import BLEND, SESSION_CASES, metric_table
from recsys_algo.kinds.kind import KINDS
from recsys_algo.stages.evaluate import evaluate_partition
from recsys_pipelines.defs.artifacts.assets import ARTIFACT_ASSETS
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource

# Plotted across partitions in the UI (numeric metadata): the ones operators watch.
PLOTTED = ("ndcg@20", "recall@20", "mrr@20", "coverage@20", "session_hr@20", "session_mrr@20")


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
    """Per kind and for the served blend: users' Recall/NDCG/MRR/coverage, sessions' HR/MRR."""
    outcome = evaluate_partition(
        storage.open(), partition_of(context), settings.params(), settings.window_days
    )
    if outcome.warning:
        context.log.warning(outcome.warning)
    metrics = outcome.metrics
    plotted = {
        f"{BLEND}.{name}": metrics[f"{BLEND}.{name}"]
        for name in PLOTTED
        if f"{BLEND}.{name}" in metrics
    }
    return dg.MaterializeResult(
        metadata={
            "users": outcome.users,
            "session_cases": int(metrics.get(SESSION_CASES, 0)),
            "metrics": dg.MetadataValue.md(metric_table(metrics, (*KINDS, BLEND))),
            # Shown (and plotted) to 4 places like the table; the exact values stay in
            # metrics_raw and in the manifest.
            **{name: dg.MetadataValue.float(round(value, 4)) for name, value in plotted.items()},
            "metrics_raw": dg.MetadataValue.json(
                {k: v for k, v in sorted(metrics.items()) if math.isfinite(v)}
            ),
            "uri": outcome.uri,
        }
    )

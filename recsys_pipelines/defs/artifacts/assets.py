"""Artifact assets: compute each kind over the trailing window and stage it for publishing."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import datetime as dt

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo import popularity as popularity_algo
from recsys_algo.artifacts import encode_artifact
from recsys_pipelines.defs.ingest.assets import canonical_events
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, StorageResource
from recsys_pipelines.lib.partition_io import StagedMeta, read_window, stage_artifact


@dg.asset(
    partitions_def=partitions,
    group_name="artifacts",
    code_version=CODE_VERSION,
    deps=[canonical_events],
    kinds={"numpy"},
)
def popularity(
    context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Decayed, event-type weighted item popularity over the trailing window; top-N."""
    p = partition_of(context)
    store = storage.open()
    window = read_window(store, p, settings.window_days)
    params = settings.popularity_params()
    as_of_end = dt.datetime.combine(p.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    frame = popularity_algo.compute_popularity(window.frame, as_of_end, params)
    blob = encode_artifact(frame, "popularity", popularity_algo.SCHEMA_VERSION)
    meta = StagedMeta(
        kind="popularity",
        rows=blob.rows,
        schema_version=blob.schema_version,
        window_start=window.start.isoformat(),
        window_end=window.end.isoformat(),
        window_days=window.days,
        inputs=window.inputs,
        parameters={"popularity": params.as_dict(), "window_days": settings.window_days},
        metrics={
            "window_events": float(window.frame.height),
            "window_items": float(window.frame["item_id"].n_unique()),
            "window_users": float(window.frame["user_id"].drop_nulls().n_unique()),
            "popularity_items": float(blob.rows),
        },
    )
    uri = stage_artifact(store, p, blob, meta)
    top = frame.head(10)
    preview = "\n".join(
        ["| rank | item_id | score |", "|---|---|---|"]
        + [f"| {i + 1} | {r['item_id']} | {r['score']:.4f} |" for i, r in enumerate(top.to_dicts())]
    )
    return dg.MaterializeResult(
        metadata={
            "rows": blob.rows,
            "bytes": len(blob.data),
            "digest": blob.sha256,
            "uri": uri,
            "window_days_present": len(window.inputs),
            "window_events": window.frame.height,
            "top_items": dg.MetadataValue.md(preview),
        },
        data_version=dg.DataVersion(blob.sha256),
    )

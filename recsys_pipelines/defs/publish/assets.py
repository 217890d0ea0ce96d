"""The publish step: blobs, then the history record, then the current-manifest pointer."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION, layout, registry
from recsys_algo.manifest import Lineage, Window
from recsys_pipelines.defs.artifacts.assets import popularity
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import SigningResource, StorageResource
from recsys_pipelines.lib.partition_io import load_staged

ARTIFACT_KINDS = ("popularity",)


class PublishConfig(dg.Config):
    allow_rewind: bool = False
    """Serve this day even if a newer as_of is serving (backfills otherwise keep history only)."""


@dg.asset(
    partitions_def=partitions,
    group_name="publish",
    code_version=CODE_VERSION,
    deps=[popularity],
    kinds={"json"},
)
def manifest(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    storage: StorageResource,
    signing: SigningResource,
) -> dg.MaterializeResult:
    """Signed manifest of the partition's artifacts; the current pointer moves last."""
    p = partition_of(context)
    store = storage.open()
    staged = [load_staged(store, p, kind) for kind in ARTIFACT_KINDS]
    first = staged[0][1]
    inputs: dict[str, str] = {}
    parameters: dict[str, object] = {}
    metrics: dict[str, float] = {}
    for _, meta in staged:
        inputs.update(meta.inputs)
        parameters.update(meta.parameters)
        metrics.update(meta.metrics)
    outcome = registry.publish(
        store,
        signing.signing_keys(),
        tenant=p.tenant,
        surface=p.surface,
        as_of=p.day,
        window=Window(start=first.window_start, end=first.window_end, days=first.window_days),
        blobs=[blob for blob, _ in staged],
        lineage=Lineage(
            inputs=dict(sorted(inputs.items())),
            code_version=CODE_VERSION,
            parameters={**parameters, "allow_rewind": config.allow_rewind},
        ),
        metrics=metrics,
        allow_rewind=config.allow_rewind,
    )
    published = outcome.manifest
    (context.log.info if outcome.swapped else context.log.warning)(f"{p.label}: {outcome.message}")
    return dg.MaterializeResult(
        metadata={
            "manifest_version": published.manifest_version,
            "previous_version": published.previous_version or "",
            "serving": outcome.swapped,
            "message": outcome.message,
            "artifacts": dg.MetadataValue.json(
                {k: {"sha256": a.sha256, "rows": a.rows} for k, a in published.artifacts.items()}
            ),
            "uri": store.uri_for(
                layout.history_key(p.tenant, p.surface, published.manifest_version)
            ),
        },
        data_version=dg.DataVersion(published.manifest_version),
    )

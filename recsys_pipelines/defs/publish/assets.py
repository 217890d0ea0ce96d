"""The publish step: blobs, then the history record, then the current-manifest pointer."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.policy.publish import PublishOptions
from recsys_algo.stages.publish import publish_partition
from recsys_algo.stages.recipes import scope_params
from recsys_pipelines.defs.evaluation.assets import evaluation
from recsys_pipelines.defs.partitions import partition_of, partitions
from recsys_pipelines.defs.resources import PipelineSettings, SigningResource, StorageResource


class PublishConfig(dg.Config):
    allow_rewind: bool = False
    """Serve this day even if a newer as_of is serving (backfills otherwise keep history only)."""
    quality_override: bool = False
    """Publish even if the quality gate fails; needs override_reason, recorded in the lineage."""
    override_reason: str = ""


@dg.asset(
    partitions_def=partitions,
    group_name="publish",
    code_version=CODE_VERSION,
    deps=[evaluation],
    kinds={"json"},
)
def manifest(
    context: dg.AssetExecutionContext,
    config: PublishConfig,
    storage: StorageResource,
    signing: SigningResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """Signed manifest of the partition's artifacts; the current pointer moves last."""
    store, p = storage.open(), partition_of(context)
    report = publish_partition(
        store,
        signing.signing_keys(),
        p,
        PublishOptions(config.allow_rewind, config.quality_override, config.override_reason),
        gate_margin=scope_params(store, p.tenant, p.surface, settings.params()).gate_margin,
        signals_dsn=settings.resolved_signals_dsn(),
        log=context.log,
    )
    outcome = report.outcome
    published = outcome.manifest
    return dg.MaterializeResult(
        metadata={
            "manifest_version": published.manifest_version,
            "previous_version": published.previous_version or "",
            # At this run; later rollbacks and holds add an observation saying what serves.
            "serving": outcome.swapped,
            "held": outcome.hold.held,
            "hold": dg.MetadataValue.json(outcome.hold.view() or {}),
            "message": outcome.message,
            "quality_gate": report.decision.gate.message,
            "signals_db": report.signals,
            "artifacts": dg.MetadataValue.json(
                {k: {"sha256": a.sha256, "rows": a.rows} for k, a in published.artifacts.items()}
            ),
            "uri": report.uri,
        },
        data_version=dg.DataVersion(published.manifest_version),
    )

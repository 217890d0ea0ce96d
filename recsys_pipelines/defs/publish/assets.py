"""The publish step: blobs, then the history record, then the current-manifest pointer."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import CODE_VERSION
from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.contracts.manifest import Lineage, Window
from recsys_algo.evaluation.gate import GateDecision, quality_gate
from recsys_algo.kinds.kind import KINDS
from recsys_algo.stages.staging import load_evaluation, load_staged
from recsys_algo.store import registry
from recsys_algo.store import signals as signals_db
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
    p = partition_of(context)
    if config.quality_override and not config.override_reason.strip():
        raise ConfigError(f"manifest for {p.label}: quality_override needs an override_reason")
    store = storage.open()
    keys = signing.signing_keys()
    staged = [load_staged(store, p, kind) for kind in KINDS]
    first = staged[0][1]
    inputs: dict[str, str] = {}
    parameters: dict[str, object] = {}
    metrics: dict[str, float] = {}
    for _, meta in staged:
        inputs.update(meta.inputs)
        parameters.update(meta.parameters)
        metrics.update(meta.metrics)
    report = load_evaluation(store, p)
    parameters.update(report.parameters)
    metrics.update(report.metrics)
    current = registry.read_current(store, keys, p.tenant, p.surface)
    margin = settings.params().evaluation.gate_margin
    if (
        current is not None
        and current.manifest.as_of > p.day.isoformat()
        and not config.allow_rewind
    ):
        # A backfill of an older day keeps history only; serving (what the gate guards) stays.
        gate = GateDecision(True, "not applied: an older day is recorded, not served", None, None)
    else:
        gate = quality_gate(report.metrics, current.manifest.metrics if current else None, margin)
    if not gate.passed and not config.quality_override:
        raise ValidationGateError(
            f"manifest for {p.label}: quality gate failed: {gate.message}; "
            "nothing was published (run config quality_override + override_reason to force)"
        )
    parameters["quality_gate"] = {
        "passed": gate.passed,
        "message": gate.message,
        "margin": margin,
        "override": config.quality_override,
        "override_reason": config.override_reason.strip(),
    }
    (context.log.info if gate.passed else context.log.warning)(
        f"{p.label}: quality gate {'passed' if gate.passed else 'OVERRIDDEN'}: {gate.message}"
    )
    outcome = registry.publish(
        store,
        keys,
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
    signals = "not configured"
    if (dsn := settings.resolved_signals_dsn()) and outcome.swapped:
        # After the object store: the manifest is the source of truth; on failure the run
        # fails (DataSourceError) and a rerun publishes and mirrors again (docs/signals-db.md).
        blobs = {blob.kind: blob.data for blob, _ in staged}
        signals = signals_db.write_signals(dsn, published, blobs).message
        context.log.info(f"{p.label}: {signals}")
    elif dsn:
        signals = "not written: this manifest is recorded, not served"
    return dg.MaterializeResult(
        metadata={
            "manifest_version": published.manifest_version,
            "previous_version": published.previous_version or "",
            "serving": outcome.swapped,
            "message": outcome.message,
            "quality_gate": gate.message,
            "signals_db": signals,
            "artifacts": dg.MetadataValue.json(
                {k: {"sha256": a.sha256, "rows": a.rows} for k, a in published.artifacts.items()}
            ),
            "uri": store.uri_for(
                layout.history_key(p.tenant, p.surface, published.manifest_version)
            ),
        },
        data_version=dg.DataVersion(published.manifest_version),
    )

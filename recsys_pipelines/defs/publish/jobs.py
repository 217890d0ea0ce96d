"""The on-demand rollback job: point serving back at a verified earlier manifest."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo.contracts.names import check_name
from recsys_algo.stages.rollback import rollback_scope
from recsys_pipelines.defs.resources import PipelineSettings, SigningResource, StorageResource


class RollbackConfig(dg.Config):
    tenant: str
    surface: str
    to_version: str | None = None
    """Manifest version to serve; default: the current manifest's previous_version."""
    reason: str = ""


@dg.op
def rollback_manifest(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    storage: StorageResource,
    signing: SigningResource,
    settings: PipelineSettings,
) -> dg.Output[str]:
    """Verify the target's signature and blobs, write an audit record, swap the pointer;
    with a signals database configured, make the same version current there too."""
    outcome = rollback_scope(
        storage.open(),
        signing.signing_keys(),
        check_name("tenant", config.tenant),
        check_name("surface", config.surface),
        config.to_version,
        reason=config.reason or f"dagster run {context.run_id}",
        signals_dsn=settings.resolved_signals_dsn(),
    )
    context.log.info(outcome.message)
    after = outcome.after
    return dg.Output(
        after.manifest_version,
        metadata={
            "from_version": outcome.from_label,
            "to_version": after.manifest_version,
            "as_of": after.as_of,
            "signals_db": outcome.signals,
        },
    )


@dg.job(description="Serve an earlier verified manifest for one tenant/surface; no retraining.")
def rollback() -> None:
    rollback_manifest()

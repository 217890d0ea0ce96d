"""The on-demand rollback job: point serving back at a verified earlier manifest."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import dagster as dg

from recsys_algo import registry
from recsys_algo.names import check_name
from recsys_pipelines.defs.resources import SigningResource, StorageResource


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
) -> dg.Output[str]:
    """Verify the target's signature and blobs, write an audit record, swap the pointer."""
    tenant, surface = check_name("tenant", config.tenant), check_name("surface", config.surface)
    before, after = registry.rollback(
        storage.open(),
        signing.signing_keys(),
        tenant,
        surface,
        config.to_version,
        reason=config.reason or f"dagster run {context.run_id}",
    )
    context.log.info(
        f"{tenant}/{surface}: rolled back from {before.manifest_version} "
        f"to {after.manifest_version}"
    )
    return dg.Output(
        after.manifest_version,
        metadata={
            "from_version": before.manifest_version,
            "to_version": after.manifest_version,
            "as_of": after.as_of,
        },
    )


@dg.job(description="Serve an earlier verified manifest for one tenant/surface; no retraining.")
def rollback() -> None:
    rollback_manifest()

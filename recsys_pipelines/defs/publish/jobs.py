"""On-demand jobs: roll back (and hold), hold, release; each records what serves on `manifest`."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

from collections.abc import Mapping

import dagster as dg

from recsys_algo.contracts.names import check_name
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.stages.holds import hold_scope, release_scope
from recsys_algo.stages.rollback import rollback_scope
from recsys_algo.store.storage import Storage
from recsys_pipelines.defs.publish.serving import record_serving
from recsys_pipelines.defs.resources import PipelineSettings, SigningResource, StorageResource


class ScopeConfig(dg.Config):
    tenant: str
    surface: str


class RollbackConfig(ScopeConfig):
    to_version: str | None = None
    """Manifest version to serve; default: the current manifest's previous_version."""
    reason: str = ""
    hold: bool = True
    """Hold the scope at the version rolled back to: later runs record history, not serving."""


class HoldConfig(ScopeConfig):
    reason: str
    """Why the scope is held: shown by the hold check, `recsys status` and the HTTP API."""


class ReleaseConfig(ScopeConfig):
    to_version: str | None = None
    """Also serve this recorded version now (roll forward); default: the next run serves."""
    reason: str = ""


def _who(context: dg.OpExecutionContext) -> str:
    return f"dagster run {context.run_id}"


def _scope(
    config: ScopeConfig, storage: StorageResource, signing: SigningResource
) -> tuple[str, str, Storage, SigningKeys]:
    """The configured scope, names checked, with its storage and keys."""
    tenant, surface = check_name("tenant", config.tenant), check_name("surface", config.surface)
    return tenant, surface, storage.open(), signing.signing_keys()


@dg.op
def rollback_manifest(
    context: dg.OpExecutionContext,
    config: RollbackConfig,
    storage: StorageResource,
    signing: SigningResource,
    settings: PipelineSettings,
) -> dg.Output[str]:
    """Verify the target's signature and blobs, write an audit record, swap the pointer and hold
    the scope there; with a signals database configured, make the same version current there."""
    tenant, surface, store, keys = _scope(config, storage, signing)
    reason = config.reason or _who(context)
    outcome = rollback_scope(
        store,
        keys,
        tenant,
        surface,
        config.to_version,
        reason=reason,
        signals_dsn=settings.resolved_signals_dsn(),
        hold_by=_who(context) if config.hold else None,
        origin="rollback job",
    )
    context.log.info(outcome.message)
    after = outcome.after
    details = {
        "from_version": outcome.from_label,
        "to_version": after.manifest_version,
        "reason": reason,
        "signals_db": outcome.signals,
    }
    record_serving(context, store, keys, tenant, surface, "rollback", details)
    return dg.Output(after.manifest_version, metadata={**details, "as_of": after.as_of})


@dg.op
def hold_manifest(
    context: dg.OpExecutionContext,
    config: HoldConfig,
    storage: StorageResource,
    signing: SigningResource,
) -> dg.Output[str]:
    """Hold the scope at what serves: runs record their manifests in history, not serving."""
    tenant, surface, store, keys = _scope(config, storage, signing)
    outcome = hold_scope(
        store, keys, tenant, surface, reason=config.reason, by=_who(context), origin="hold job"
    )
    context.log.info(outcome.message)
    record_serving(context, store, keys, tenant, surface, "hold", {"reason": config.reason})
    return dg.Output(outcome.hold.version or "", metadata={"created": outcome.created})


@dg.op
def release_manifest(
    context: dg.OpExecutionContext,
    config: ReleaseConfig,
    storage: StorageResource,
    signing: SigningResource,
    settings: PipelineSettings,
) -> dg.Output[str]:
    """End the hold (optionally serving a recorded version first): the next run serves again."""
    tenant, surface, store, keys = _scope(config, storage, signing)
    reason = config.reason or _who(context)
    outcome = release_scope(
        store,
        keys,
        tenant,
        surface,
        config.to_version,
        reason=reason,
        by=_who(context),
        origin="release job",
        signals_dsn=settings.resolved_signals_dsn(),
    )
    message = outcome.message(tenant, surface)
    context.log.info(message)
    details = {"reason": reason, "message": message}
    if outcome.rolled is not None:
        details["from_version"] = outcome.rolled.from_label
        details["to_version"] = outcome.rolled.after.manifest_version
    record_serving(context, store, keys, tenant, surface, "release", details)
    return dg.Output(details.get("to_version", ""))


@dg.graph(description="Serve an earlier verified manifest for one tenant/surface and hold it.")
def rollback() -> None:
    rollback_manifest()


@dg.graph(description="Hold a tenant/surface at what serves: runs record history, not serving.")
def hold() -> None:
    hold_manifest()


@dg.graph(description="End a tenant/surface's hold, optionally serving a recorded version first.")
def release() -> None:
    release_manifest()


def _as_configured(name: str, resource: dg.ConfigurableResource) -> dg.ResourceDefinition:  # type: ignore[type-arg]
    # The resource as the code location configured it (its EnvVars read when the run starts),
    # with no config of its own: the launchpad then scaffolds only the op's config.
    return dg.ResourceDefinition(
        resource_fn=lambda _: resource.process_config_and_initialize(),
        description=f"the code location's `{name}` resource, as configured (not set per run)",
    )


def build_jobs(resources: Mapping[str, dg.ConfigurableResource]) -> list[dg.JobDefinition]:  # type: ignore[type-arg]
    """The on-demand jobs, bound to the code location's resources as configured."""
    fixed = {name: _as_configured(name, r) for name, r in resources.items()}
    return [graph.to_job(resource_defs=fixed) for graph in (rollback, hold, release)]

"""What serves, as the UI shows it: the `manifest_not_held` check and the observation that
rollback, hold and release record on `manifest`, so the catalog never contradicts the pointer."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

from typing import Any

import dagster as dg

from recsys_algo.contracts.hold import HoldState
from recsys_algo.contracts.names import parse_day, scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store import holds
from recsys_algo.store.pointer import pointer_state
from recsys_algo.store.storage import Storage
from recsys_pipelines.defs.partitions import (
    SCOPES_PARTITION,
    daily_partitions,
    partition_key,
    partition_of,
)
from recsys_pipelines.defs.publish.assets import manifest
from recsys_pipelines.defs.resources import SigningResource, StorageResource

MANIFEST_NOT_HELD = "manifest_not_held"


def _hold_metadata(state: HoldState) -> dict[str, Any]:
    return {"held": state.held, "hold": dg.MetadataValue.json(state.view() or {})}


@dg.asset_check(
    asset=manifest,
    name=MANIFEST_NOT_HELD,
    blocking=False,
    description="The scope is not held: a hold (recsys hold, a rollback) keeps runs publishing "
    "to history without serving; this warns until `recsys release`.",
)
def manifest_not_held(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, signing: SigningResource
) -> dg.AssetCheckResult:
    """Warns while the partition's tenant.surface is held, saying by whom, since when and why."""
    p = partition_of(context)
    state = holds.read_hold_state(storage.open(), signing.signing_keys(), p.tenant, p.surface)
    return dg.AssetCheckResult(
        passed=not state.held,
        severity=dg.AssetCheckSeverity.WARN,
        description=state.describe(),
        metadata=_hold_metadata(state),
    )


def record_serving(
    context: dg.OpExecutionContext,
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    action: str,
    details: dict[str, Any],
) -> None:
    """Log on `manifest` what serves now (observation) and the hold check's new verdict, on the
    partition of the serving day, read back from the pointer and hold record themselves."""
    pointer = pointer_state(storage, keys, tenant, surface)
    state = holds.read_hold_state(storage, keys, tenant, surface)
    serving = pointer.current.manifest if pointer.current else None
    partition, scope = None, scope_key(tenant, surface)
    if serving is not None:
        # Only an existing partition (RECSYS_FIRST_DAY may have moved past an old day).
        in_range = daily_partitions.has_partition_key(serving.as_of)
        if in_range and context.instance.has_dynamic_partition(SCOPES_PARTITION, scope):
            partition = partition_key(tenant, surface, parse_day(serving.as_of))
    metadata: dict[str, Any] = {
        "action": action,
        "scope": f"{tenant}/{surface}",
        "serving_version": pointer.version or "",
        "serving_as_of": serving.as_of if serving else "",
        "pointer": pointer.error or pointer.state,
        **details,
        **_hold_metadata(state),
    }
    context.log_event(
        dg.AssetObservation(asset_key=manifest.key, partition=partition, metadata=metadata)
    )
    context.log_event(
        dg.AssetCheckEvaluation(
            asset_key=manifest.key,
            check_name=MANIFEST_NOT_HELD,
            passed=not state.held,
            severity=dg.AssetCheckSeverity.WARN,
            description=state.describe(),
            metadata=_hold_metadata(state),
            partition=partition,
        )
    )

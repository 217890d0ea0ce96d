"""Freshness: the serving manifest of every scope was published within the allowed age."""
# Dagster reads these annotations at definition time, so no `from __future__ import annotations`.

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from recsys_algo.contracts.errors import RecsysError
from recsys_algo.contracts.names import parse_scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store import registry
from recsys_algo.store.pointer import list_published_scopes
from recsys_algo.store.storage import Storage
from recsys_pipelines.defs.automation import clock
from recsys_pipelines.defs.automation.settings import freshness_max_age_hours
from recsys_pipelines.defs.partitions import SCOPES_PARTITION
from recsys_pipelines.defs.publish.assets import manifest
from recsys_pipelines.defs.resources import SigningResource, StorageResource

MANIFEST_FRESH = "manifest_fresh"
FRESHNESS_JOB = "manifest_freshness"
FRESHNESS_SCHEDULE = "manifest_freshness_hourly"


@dataclass(frozen=True)
class ScopeFreshness:
    scope: str
    fresh: bool
    message: str
    age_hours: float | None = None


def _created(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def scope_freshness(
    storage: Storage,
    keys: SigningKeys,
    scope: str,
    now: dt.datetime,
    max_age: dt.timedelta,
) -> ScopeFreshness:
    """Age of the verified current manifest (its created_at) against max_age."""
    tenant, surface = parse_scope_key(scope)
    try:
        current = registry.read_current(storage, keys, tenant, surface)
    except RecsysError as exc:
        return ScopeFreshness(
            scope, False, f"{tenant}/{surface}: serving manifest unreadable: {exc}"
        )
    if current is None:
        # A scope registered moments ago has not had its first run: not stale, but shown.
        return ScopeFreshness(scope, True, f"{tenant}/{surface}: nothing published yet")
    m = current.manifest
    age = now - _created(m.created_at)
    hours = round(age.total_seconds() / 3600, 1)
    limit = max_age.total_seconds() / 3600
    text = (
        f"{tenant}/{surface}: serving {m.manifest_version} (as_of {m.as_of}) "
        f"published {hours} h ago"
    )
    if age > max_age:
        return ScopeFreshness(scope, False, f"{text}, over the {limit:g} h limit", hours)
    return ScopeFreshness(scope, True, text, hours)


@dg.asset_check(
    asset=manifest,
    name=MANIFEST_FRESH,
    blocking=False,
    description="Every tenant.surface's serving manifest (current pointer, signature verified) "
    "was published within RECSYS_FRESHNESS_MAX_AGE_HOURS (48 h: two schedule intervals).",
)
def manifest_fresh(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, signing: SigningResource
) -> dg.AssetCheckResult:
    """Fails naming each scope whose serving manifest is too old or does not verify."""
    store = storage.open()
    keys = signing.signing_keys()
    scopes = set(context.instance.get_dynamic_partitions(SCOPES_PARTITION))
    scopes |= {f"{t}.{s}" for t, s in list_published_scopes(store)}
    max_age = dt.timedelta(hours=freshness_max_age_hours())
    now = clock.utc_now()
    results = [scope_freshness(store, keys, scope, now, max_age) for scope in sorted(scopes)]
    stale = [r for r in results if not r.fresh]
    if stale:
        description = "stale: " + "; ".join(r.message for r in stale)
    elif results:
        description = f"all {len(results)} scopes within {max_age.total_seconds() / 3600:g} h"
    else:
        description = "no tenant.surface registered or published yet"
    return dg.AssetCheckResult(
        passed=not stale,
        description=description,
        metadata={
            "max_age_hours": max_age.total_seconds() / 3600,
            "stale_scopes": [r.scope for r in stale],
            "scopes": dg.MetadataValue.json(
                {
                    r.scope: {"fresh": r.fresh, "age_hours": r.age_hours, "message": r.message}
                    for r in results
                }
            ),
        },
    )


manifest_freshness = dg.define_asset_job(
    FRESHNESS_JOB,
    selection=dg.AssetSelection.checks(manifest_fresh),
    description="Evaluate the manifest freshness check over every tenant.surface.",
)

manifest_freshness_hourly = dg.ScheduleDefinition(
    name=FRESHNESS_SCHEDULE,
    job=manifest_freshness,
    cron_schedule="30 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Hourly freshness check of every serving manifest (alerts when publishing stops).",
)

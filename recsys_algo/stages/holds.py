"""Hold and release a scope, for the CLI and the Dagster jobs (rollback holds in stages.rollback).

A hold pins what serves: runs still compute, gate and record their manifests in history, and
the pointer stays. Release lets the next run serve again; release with a version rolls forward
to that recorded manifest first, so leaving a hold is always a deliberate act.
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.contracts.hold import Hold, HoldState
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.stages.rollback import RollbackOutcome, rollback_scope
from recsys_algo.store import holds, pointer
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class HoldOutcome:
    hold: Hold
    created: bool  # False: the scope was held already; the earlier record stands
    note: str  # what an operator should know (what serves, what broke)

    @property
    def message(self) -> str:
        t, s = self.hold.tenant, self.hold.surface
        state = "held" if self.created else "already held, unchanged"
        return f"{t}/{s} {state}: {self.hold.describe()}{self.note}"


@dataclass(frozen=True)
class ReleaseOutcome:
    released: HoldState
    rolled: RollbackOutcome | None  # the roll forward, when a version was named

    def message(self, tenant: str, surface: str) -> str:
        was = self.released.describe()
        if self.rolled is None:
            return f"released {tenant}/{surface} (was {was}); the next run that would serve, serves"
        after = self.rolled.after
        return (
            f"released {tenant}/{surface} (was {was}) and rolled forward: "
            f"{self.rolled.from_label} -> {after.manifest_version} (as_of {after.as_of})"
        )


def hold_scope(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    *,
    reason: str,
    by: str,
    origin: str,
) -> HoldOutcome:
    """Hold the scope at what serves now; a scope already held keeps its record."""
    if not reason.strip():
        raise ConfigError(f"{tenant}/{surface}: a hold needs a reason (who reads it is on call)")
    state = holds.read_hold_state(storage, keys, tenant, surface)
    if state.hold is not None:
        return HoldOutcome(state.hold, created=False, note="")
    version, note = None, "; nothing is published yet"
    try:
        current = pointer.read_current(storage, keys, tenant, surface)
    except ArtifactError as exc:
        note = f"; the pointer does not verify ({exc}): roll back with --to to repair it"
    else:
        if current is not None:
            version, note = current.manifest.manifest_version, ""
    token = _pointer_token(storage, tenant, surface)
    hold = holds.write_hold(
        storage, keys, tenant, surface, version=version, reason=reason, by=by, origin=origin
    )
    if _pointer_token(storage, tenant, surface) != token:
        # A run that had passed its hold check swapped while the hold was being written.
        note += "; the pointer moved while the hold was set: check `recsys status` and roll back"
    return HoldOutcome(hold, created=True, note=note)


def _pointer_token(storage: Storage, tenant: str, surface: str) -> str | None:
    found = pointer.read_pointer(storage, tenant, surface)
    return found[1] if found else None


def release_scope(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    to_version: str | None,
    *,
    reason: str,
    by: str,
    origin: str,
    signals_dsn: str = "",
) -> ReleaseOutcome:
    """Remove the hold; with to_version, first serve that recorded manifest (roll forward).

    The pointer moves before the hold goes: if the roll forward fails, the scope stays held.
    """
    state = holds.read_hold_state(storage, keys, tenant, surface)
    rolled = None
    if to_version is not None and state.held:
        rolled = rollback_scope(
            storage,
            keys,
            tenant,
            surface,
            to_version,
            reason=reason or f"released by {by}",
            signals_dsn=signals_dsn,
        )
    released = holds.remove_hold(
        storage, keys, tenant, surface, reason=reason, by=by, origin=origin
    )
    return ReleaseOutcome(released, rolled)

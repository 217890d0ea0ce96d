"""Rollback for the Dagster job and the CLI: the object-store pointer, then the signals DB."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.hold import Hold
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.policy.publish import SIGNALS_NOT_CONFIGURED
from recsys_algo.policy.rollback import plan_rollback
from recsys_algo.store import holds, registry
from recsys_algo.store import signals as signals_db
from recsys_algo.store.rollback import rollback, verified_serving
from recsys_algo.store.storage import Storage

UNVERIFIED_POINTER = "a pointer that does not verify"


@dataclass(frozen=True)
class RollbackOutcome:
    before: Manifest | None  # None: the pointer did not verify (garbage, tampered, unknown key)
    after: Manifest
    signals: str  # what happened in the signals database (DB-only mode)
    hold: Hold | None = None  # the hold the rollback set (None: asked not to hold)

    @property
    def from_label(self) -> str:
        """What served before: its version, or that the pointer served nothing verifiable."""
        return self.before.manifest_version if self.before else UNVERIFIED_POINTER

    @property
    def message(self) -> str:
        return (
            f"{self.after.tenant}/{self.after.surface}: rolled back from "
            f"{self.from_label} to {self.after.manifest_version}; "
            f"signals database: {self.signals}"
        )


def rollback_scope(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    to_version: str | None,
    *,
    reason: str,
    signals_dsn: str = "",
    hold_by: str | None = None,
    origin: str = "rollback",
) -> RollbackOutcome:
    """Serve an earlier verified manifest; with a signals DSN the database follows.

    With hold_by (who asks), the scope is also held at the version rolled back to, so the next
    run records its manifest without serving it. The hold is written before the pointer moves
    (no run can publish in between) and put back as it was if the rollback fails.

    If the database write fails, the error is raised and `rollback --to <version>` again brings
    the database in line (policy.rollback.plan_rollback: only the database is written).
    """
    if hold_by is None:
        before, after, signals = _rollback(
            storage, keys, tenant, surface, to_version, reason, signals_dsn
        )
        return RollbackOutcome(before, after, signals)
    by = hold_by

    def hold_at(version: str | None, audit: bool) -> Hold:
        return holds.write_hold(
            storage, keys, tenant, surface, version=version, reason=reason, by=by,
            origin=origin, audit=audit,
        )  # fmt: skip

    earlier = holds.read_hold_bytes(storage, tenant, surface)
    hold_at(to_version, audit=False)
    try:
        before, after, signals = _rollback(
            storage, keys, tenant, surface, to_version, reason, signals_dsn
        )
    except BaseException:
        holds.restore_hold(storage, tenant, surface, earlier)
        raise
    hold = hold_at(after.manifest_version, audit=True)
    return RollbackOutcome(before, after, signals, hold)


def _rollback(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    to_version: str | None,
    reason: str,
    signals_dsn: str,
) -> tuple[Manifest | None, Manifest, str]:
    # The serving version matters only for a database repair; without one, none is read. A
    # pointer that does not verify serves nothing: the rollback then repairs it.
    serving = verified_serving(storage, keys, tenant, surface) if signals_dsn else None
    plan = plan_rollback(
        serving.manifest_version if serving else None, to_version, bool(signals_dsn)
    )
    before: Manifest | None
    if serving is not None and not plan.move_pointer:
        before = after = serving
    else:
        before, after = rollback(storage, keys, tenant, surface, to_version, reason=reason)
    if not plan.write_signals:
        return before, after, SIGNALS_NOT_CONFIGURED
    blobs = registry.verify_artifacts(storage, after)
    written = signals_db.write_signals(signals_dsn, after, blobs, rollback=True)
    return before, after, written.message

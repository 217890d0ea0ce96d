"""Rollback shared by the Dagster job and the CLI: the object-store pointer, then the signals DB."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store import pointer, registry
from recsys_algo.store import signals as signals_db
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class RollbackOutcome:
    before: Manifest
    after: Manifest
    signals: str  # what happened in the signals database (DB-only mode)


def rollback_scope(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    to_version: str | None,
    *,
    reason: str,
    signals_dsn: str = "",
) -> RollbackOutcome:
    """Serve an earlier verified manifest; with a signals DSN the database follows.

    The object store is the source of truth and moves first. If the database write then fails,
    the error is raised and `rollback --to <version>` again brings the database in line: when
    that version already serves, only the database is written.
    """
    current = pointer.read_current(storage, keys, tenant, surface) if signals_dsn else None
    if current is not None and to_version == current.manifest.manifest_version:
        before = after = current.manifest
    else:
        before, after = registry.rollback(storage, keys, tenant, surface, to_version, reason=reason)
    if not signals_dsn:
        return RollbackOutcome(before, after, "not configured")
    blobs = registry.verify_artifacts(storage, after)
    written = signals_db.write_signals(signals_dsn, after, blobs, rollback=True)
    return RollbackOutcome(before, after, written.message)

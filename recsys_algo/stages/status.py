"""What the object store says about a scope for `recsys status`: pointer, hold, newest record."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts.hold import HoldState
from recsys_algo.contracts.names import parse_scope_key, scope_key
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store import holds, registry
from recsys_algo.store.history import HistoryEntry
from recsys_algo.store.pointer import PointerState, list_published_scopes, pointer_state
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class StoredScope:
    tenant: str
    surface: str
    pointer: PointerState
    hold: HoldState
    newest: HistoryEntry | None  # the newest history record (held runs write these too)


def read_scope(storage: Storage, keys: SigningKeys, tenant: str, surface: str) -> StoredScope:
    """Pointer and hold diagnosed (never raised), and the newest history record."""
    newest = registry.history(storage, keys, tenant, surface, limit=1)
    return StoredScope(
        tenant,
        surface,
        pointer_state(storage, keys, tenant, surface),
        holds.read_hold_state(storage, keys, tenant, surface),
        newest[0] if newest else None,
    )


def known_scopes(storage: Storage, registered: list[str]) -> list[tuple[str, str]]:
    """Every scope with a pointer (or only a hold record), plus the registered ones, sorted."""
    found = {scope_key(t, s): (t, s) for t, s in list_published_scopes(storage)}
    found |= {scope_key(t, s): (t, s) for t, s in holds.held_scopes(storage)}
    for key in registered:
        found.setdefault(key, parse_scope_key(key))
    return [found[key] for key in sorted(found)]

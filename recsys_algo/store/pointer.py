"""The current-manifest pointer of a scope: read it, verify its signature and scope.

Light on purpose (no dataframe or Arrow import): the service reads pointers on every poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, NotFoundError
from recsys_algo.contracts.manifest import Manifest, decode_verified
from recsys_algo.contracts.names import is_valid_name
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.storage import Storage


@dataclass(frozen=True)
class Current:
    manifest: Manifest
    raw: bytes
    token: str


def read_pointer(storage: Storage, tenant: str, surface: str) -> tuple[bytes, str] | None:
    key = layout.pointer_key(tenant, surface)
    try:
        return storage.read_with_token(key)
    except NotFoundError:
        return None


def read_current(storage: Storage, keys: SigningKeys, tenant: str, surface: str) -> Current | None:
    """The verified current manifest (signature and scope), or None if nothing is published."""
    found = read_pointer(storage, tenant, surface)
    if found is None:
        return None
    raw, token = found
    where = storage.uri_for(layout.pointer_key(tenant, surface))
    manifest = decode_verified(raw, keys, where)
    _check_scope(manifest, tenant, surface, where)
    return Current(manifest, raw, token)


def _check_scope(manifest: Manifest, tenant: str, surface: str, where: str) -> None:
    if (manifest.tenant, manifest.surface) != (tenant, surface):
        raise ArtifactError(
            f"{where}: manifest belongs to {manifest.tenant}/{manifest.surface}, "
            f"not {tenant}/{surface}"
        )


def list_published_scopes(storage: Storage) -> list[tuple[str, str]]:
    """(tenant, surface) pairs that have a current pointer."""
    return scopes_with(storage, "manifest.json")


def scopes_with(storage: Storage, name: str) -> list[tuple[str, str]]:
    """(tenant, surface) pairs with a file of this name beside the pointer (or as it)."""
    scopes = []
    for key in storage.list(layout.POINTER_ROOT):
        parts = key.split("/")
        # Stray folders with names no publisher could write are not scopes.
        if len(parts) == 5 and parts[-1] == name and all(map(is_valid_name, parts[2:4])):
            scopes.append((parts[2], parts[3]))
    return scopes


@dataclass(frozen=True)
class PointerState:
    """A scope's pointer diagnosed rather than trusted: missing, verified, or broken (and why)."""

    current: Current | None = None
    error: str | None = None  # the pointer exists and does not verify

    @property
    def state(self) -> str:
        return "broken" if self.error else "ok" if self.current else "missing"

    @property
    def version(self) -> str | None:
        return self.current.manifest.manifest_version if self.current else None


def pointer_state(storage: Storage, keys: SigningKeys, tenant: str, surface: str) -> PointerState:
    """read_current, with a pointer that does not decode, verify or match its scope reported
    instead of raised: what `recsys manifests` and `recsys status` need when things are broken."""
    try:
        return PointerState(current=read_current(storage, keys, tenant, surface))
    except ArtifactError as exc:
        return PointerState(error=str(exc))

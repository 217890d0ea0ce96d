"""A scope's manifest history: every published record, read back and verified one by one."""

from __future__ import annotations

from dataclasses import dataclass

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, ConfigError, NotFoundError
from recsys_algo.contracts.manifest import Manifest, check_version, decode_verified
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.pointer import _check_scope
from recsys_algo.store.storage import Storage


def read_version(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str, version: str
) -> tuple[Manifest, bytes]:
    key = layout.history_key(tenant, surface, check_version(version))
    if not storage.exists(key):
        raise NotFoundError(f"{tenant}/{surface}: manifest version {version} does not exist")
    raw = storage.read_bytes(key)
    where = storage.uri_for(key)
    manifest = decode_verified(raw, keys, where)
    _check_scope(manifest, tenant, surface, where)
    if manifest.manifest_version != version:
        raise ArtifactError(f"{where}: holds version {manifest.manifest_version}, not {version}")
    return manifest, raw


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    manifest: Manifest | None
    error: str | None


def history(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str, limit: int | None = None
) -> list[HistoryEntry]:
    """History records, newest first, each verified (errors reported, not raised); with a limit,
    only the newest `limit` are read."""
    prefix = layout.history_prefix(tenant, surface)
    # Versions start with their UTC creation stamp: name order is time order.
    versions = sorted(
        (key.rsplit("/", 1)[-1].removesuffix(".json") for key in storage.list(prefix)),
        reverse=True,
    )
    entries = []
    for version in versions[:limit]:
        try:
            manifest, _ = read_version(storage, keys, tenant, surface, version)
            entries.append(HistoryEntry(version, manifest, None))
        except (ArtifactError, ConfigError, NotFoundError) as exc:
            entries.append(HistoryEntry(version, None, str(exc)))
    return entries

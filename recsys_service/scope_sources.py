"""Where scopes are served from: the object store (default) or the signals database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ConfigError, NotFoundError
from recsys_algo.contracts.manifest import Manifest
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.serving.recommender import BlendParams
from recsys_algo.store.pg import describe_dsn
from recsys_algo.store.pointer import list_published_scopes, read_current
from recsys_algo.store.storage import Storage, open_storage
from recsys_service.loaded_scope import LoadedScope, Scope


class ScopeSource(Protocol):
    """Where a ServingState reads its scopes' pointers and versions (one per app)."""

    def scopes(self) -> list[Scope]: ...

    def token(self, tenant: str, surface: str) -> str: ...

    def spec(self) -> dict[str, str]:
        """What a loader child needs to open the same source (source_from_spec)."""
        ...

    def current(self, keys: SigningKeys, tenant: str, surface: str) -> tuple[Manifest, str] | None:
        """The current manifest, verified, and its token, read cheaply (no artifact);
        NotFoundError when nothing is published; None when this source can only tell by a
        full load."""
        ...

    def load(self, keys: SigningKeys, tenant: str, surface: str, now: dt.datetime) -> LoadedScope:
        """Read, verify and build one scope's current version (raises if nothing to serve)."""
        ...


@dataclass(frozen=True)
class StorageSource:
    """The default ScopeSource: manifests and artifacts in the object store (RECSYS_STORAGE_URL)."""

    storage: Storage

    def scopes(self) -> list[Scope]:
        return list_published_scopes(self.storage)

    def token(self, tenant: str, surface: str) -> str:
        return self.storage.stat(layout.pointer_key(tenant, surface)).token

    def spec(self) -> dict[str, str]:
        return {"kind": "storage", "url": self.storage.url}

    def current(self, keys: SigningKeys, tenant: str, surface: str) -> tuple[Manifest, str] | None:
        found = read_current(self.storage, keys, tenant, surface)
        if found is None:
            raise NotFoundError(f"{tenant}/{surface}: no manifest is published")
        return found.manifest, found.token

    def load(self, keys: SigningKeys, tenant: str, surface: str, now: dt.datetime) -> LoadedScope:
        return load_scope(self.storage, keys, tenant, surface, now)


def load_scope(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str, now: dt.datetime
) -> LoadedScope:
    """Read the current manifest, verify everything, and build the indexes (slow path)."""
    # Imported here: decoding and checks need polars and pyarrow, and a serving process that
    # maps prepared files (recsys_service.process_loader) never loads a table.
    from recsys_algo.loading.model import load_model
    from recsys_algo.store.registry import load_verified_tables

    found = load_verified_tables(storage, keys, tenant, surface)
    if found is None:
        raise NotFoundError(f"{tenant}/{surface}: no manifest is published")
    current, tables = found  # decoded once, by the checks that verified them
    manifest = current.manifest
    where = f"{tenant}/{surface} {manifest.manifest_version}"
    return LoadedScope(
        manifest=manifest,
        token=current.token,
        loaded_at=now,
        model=load_model(tables, manifest.lineage.parameters, where),
        blend=BlendParams.from_lineage(manifest.lineage.parameters, where),
    )


@dataclass(frozen=True)
class SignalsDbSource:
    """The ScopeSource of DB-only mode (RECSYS_SERVING_SOURCE=postgres): verified rows, no blobs;
    popularity and neighbour kinds, no implicit model."""

    dsn: str

    # store.signals_read (psycopg2, pyarrow) is imported at first use: only DB-only mode needs it.
    def scopes(self) -> list[Scope]:
        from recsys_algo.store import signals_read

        return signals_read.list_scopes(self.dsn)

    def _missing(self, tenant: str, surface: str) -> NotFoundError:
        return NotFoundError(
            f"{tenant}/{surface}: no signals are published in the signals database "
            f"{describe_dsn(self.dsn)}"
        )

    def spec(self) -> dict[str, str]:
        return {"kind": "postgres", "dsn": self.dsn}

    def current(self, keys: SigningKeys, tenant: str, surface: str) -> tuple[Manifest, str] | None:
        from recsys_algo.store import signals_read

        found = signals_read.current_manifest(self.dsn, keys, tenant, surface)
        if found is None:
            raise self._missing(tenant, surface)
        return found

    def token(self, tenant: str, surface: str) -> str:
        from recsys_algo.store import signals_read

        token = signals_read.current_token(self.dsn, tenant, surface)
        if token is None:
            raise self._missing(tenant, surface)
        return token

    def load(self, keys: SigningKeys, tenant: str, surface: str, now: dt.datetime) -> LoadedScope:
        from recsys_algo.loading.model import load_model
        from recsys_algo.store import signals_read

        found = signals_read.load_signals(self.dsn, keys, tenant, surface)
        if found is None:
            raise self._missing(tenant, surface)
        token, manifest, tables = found
        where = f"{tenant}/{surface} {manifest.manifest_version} (signals database)"
        parameters = manifest.lineage.parameters
        return LoadedScope(
            manifest=manifest,
            token=token,  # from the same snapshot as the rows
            loaded_at=now,
            # Kinds absent from the database (implicit) are absent from the model: the blend
            # fuses the kinds it has, exactly as for a manifest published without them.
            model=load_model(tables, parameters, where),
            blend=BlendParams.from_lineage(parameters, where),
        )


def source_from_spec(spec: dict[str, Any]) -> ScopeSource:
    """The source a ScopeSource.spec() describes (the loader child opens its parent's)."""
    if spec.get("kind") == "storage":
        return StorageSource(open_storage(str(spec["url"])))
    if spec.get("kind") == "postgres":
        return SignalsDbSource(str(spec["dsn"]))
    raise ConfigError(f"unknown serving source {spec.get('kind')!r}")

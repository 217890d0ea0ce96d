"""Storage layout: every key the platform reads or writes is built here (docs/contracts.md)."""

from __future__ import annotations

import datetime as dt

from recsys_algo.manifest import check_version
from recsys_algo.names import check_name, is_valid_name
from recsys_algo.storage import Storage

ARTIFACT_EXT = "arrow"


def _scope(tenant: str, surface: str) -> str:
    return f"{check_name('tenant', tenant)}/{check_name('surface', surface)}"


def raw_prefix(tenant: str, surface: str, day: dt.date) -> str:
    return f"raw/{_scope(tenant, surface)}/{day.isoformat()}"


def catalog_key(tenant: str) -> str:
    return f"catalog/{check_name('tenant', tenant)}/items.jsonl"


def staging_key(tenant: str, surface: str, day: dt.date, name: str) -> str:
    return f"staging/{_scope(tenant, surface)}/{day.isoformat()}/{name}"


def canonical_key(tenant: str, surface: str, day: dt.date) -> str:
    return f"canonical/{_scope(tenant, surface)}/{day.isoformat()}.parquet"


def quarantine_key(tenant: str, surface: str, day: dt.date) -> str:
    return f"quarantine/{_scope(tenant, surface)}/{day.isoformat()}/rejected.jsonl"


def artifact_prefix(tenant: str, surface: str, kind: str) -> str:
    return f"artifacts/{_scope(tenant, surface)}/{check_name('kind', kind)}/"


def artifact_key(tenant: str, surface: str, kind: str, sha256: str) -> str:
    return f"{artifact_prefix(tenant, surface, kind)}{sha256}.{ARTIFACT_EXT}"


def history_prefix(tenant: str, surface: str) -> str:
    return f"registry/{_scope(tenant, surface)}/manifests"


def history_key(tenant: str, surface: str, version: str) -> str:
    return f"{history_prefix(tenant, surface)}/{check_version(version)}.json"


def audit_key(tenant: str, surface: str, stamp: str, action: str) -> str:
    return f"registry/{_scope(tenant, surface)}/audit/{stamp}-{action}.json"


POINTER_ROOT = "registry/current"


def pointer_key(tenant: str, surface: str) -> str:
    return f"{POINTER_ROOT}/{_scope(tenant, surface)}/manifest.json"


def list_published_scopes(storage: Storage) -> list[tuple[str, str]]:
    """(tenant, surface) pairs that have a current pointer."""
    scopes = []
    for key in storage.list(POINTER_ROOT):
        parts = key.split("/")
        # Stray folders with names no publisher could write are not scopes.
        if len(parts) == 5 and parts[-1] == "manifest.json" and all(map(is_valid_name, parts[2:4])):
            scopes.append((parts[2], parts[3]))
    return scopes

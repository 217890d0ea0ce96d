"""Roll back: point serving at an earlier verified history record, with an audit record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from recsys_algo.contracts import layout
from recsys_algo.contracts.errors import ArtifactError, ConfigError, NotFoundError
from recsys_algo.contracts.manifest import Manifest, decode_verified
from recsys_algo.contracts.signing import SigningKeys
from recsys_algo.store.history import read_version
from recsys_algo.store.pointer import _check_scope, read_pointer
from recsys_algo.store.registry import _rfc3339, _utc_now, verify_artifacts
from recsys_algo.store.storage import Storage


def _verified_serving(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str, raw: bytes
) -> tuple[Manifest | None, str]:
    """The pointer's manifest if it verifies (signature and scope), else None and why not."""
    where = storage.uri_for(layout.pointer_key(tenant, surface))
    try:
        manifest = decode_verified(raw, keys, where)
        _check_scope(manifest, tenant, surface, where)
    except ArtifactError as exc:
        return None, str(exc)
    return manifest, ""


def verified_serving(
    storage: Storage, keys: SigningKeys, tenant: str, surface: str
) -> Manifest | None:
    """What the scope serves: the pointer's manifest if there is one and it verifies."""
    found = read_pointer(storage, tenant, surface)
    return None if found is None else _verified_serving(storage, keys, tenant, surface, found[0])[0]


def rollback(
    storage: Storage,
    keys: SigningKeys,
    tenant: str,
    surface: str,
    to_version: str | None = None,
    *,
    reason: str = "",
    now: dt.datetime | None = None,
) -> tuple[Manifest | None, Manifest]:
    """Point serving at an earlier verified manifest; returns (from, to). No retraining.

    `from` is the serving manifest only if the pointer verifies; a pointer that does not
    (garbage, tampered, unknown key) serves nothing, so it is None, any named version may
    replace it, and nothing it claims (its version, its previous_version) is trusted.
    """
    current = read_pointer(storage, tenant, surface)
    if current is None:
        raise NotFoundError(f"{tenant}/{surface}: nothing is published, nothing to roll back")
    raw_current, token = current
    serving, why = _verified_serving(storage, keys, tenant, surface, raw_current)
    if serving is None and to_version is None:
        raise ArtifactError(
            f"{tenant}/{surface}: the current pointer does not verify ({why}); "
            "name the version to serve with --to (see `recsys manifests`)"
        )
    target_version = to_version or (serving.previous_version if serving else None)
    if target_version is None:
        raise NotFoundError(
            f"{tenant}/{surface}: {serving.manifest_version if serving else 'current'} has no "
            "previous version; name one with --to (see `recsys manifests`)"
        )
    if serving is not None and target_version == serving.manifest_version:
        raise ConfigError(f"{tenant}/{surface}: {target_version} is already serving")
    target, raw_target = read_version(storage, keys, tenant, surface, target_version)
    verify_artifacts(storage, target)
    moment = now or _utc_now()
    record: dict[str, Any] = {
        "action": "rollback",
        "tenant": tenant,
        "surface": surface,
        "from_version": serving.manifest_version if serving else None,
        "to_version": target_version,
        "at": _rfc3339(moment),
        "reason": reason,
    }
    if serving is None:
        record["replaced"] = f"a pointer that does not verify: {why}"[:500]
    stamp = moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    storage.write_new(
        layout.audit_key(tenant, surface, stamp, "rollback"), msgspec.json.encode(record)
    )
    storage.compare_and_swap(layout.pointer_key(tenant, surface), raw_target, token)
    return serving, target

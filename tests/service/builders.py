"""Publish real signed manifests into a file:// storage for service tests."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from recsys_algo import layout
from recsys_algo.artifacts import encode_artifact
from recsys_algo.manifest import Lineage, Manifest, Window
from recsys_algo.registry import publish
from recsys_algo.signing import SigningKeys, parse_signing_keys
from recsys_algo.storage import FileStorage
from recsys_service.settings import ApiKey, Settings

SIGNING_SPEC = "test-kid:" + "ab" * 32
OTHER_SIGNING_SPEC = "other-kid:" + "cd" * 32
AS_OF = dt.date(2026, 11, 20)


def signing_keys(spec: str = SIGNING_SPEC) -> SigningKeys:
    return parse_signing_keys(spec)


def sha256_hex(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key(name: str, tenant: str, key: str) -> ApiKey:
    return ApiKey(name=name, tenant=tenant, sha256=bytes.fromhex(sha256_hex(key)))


def item_ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def publish_popularity(
    storage: FileStorage,
    tenant: str,
    surface: str,
    items: Sequence[str],
    *,
    keys: SigningKeys | None = None,
    as_of: dt.date = AS_OF,
    now: dt.datetime | None = None,
) -> Manifest:
    """Publish items with strictly decreasing scores (first item most popular)."""
    n = len(items)
    frame = pl.DataFrame(
        {
            "item_id": list(items),
            "score": [float(n - i) for i in range(n)],
            "events": [n - i for i in range(n)],
        },
        schema={"item_id": pl.String(), "score": pl.Float64(), "events": pl.Int64()},
    )
    outcome = publish(
        storage,
        keys or signing_keys(),
        tenant=tenant,
        surface=surface,
        as_of=as_of,
        window=Window(
            start=(as_of - dt.timedelta(days=6)).isoformat(), end=as_of.isoformat(), days=7
        ),
        blobs=[encode_artifact(frame, "popularity", 1)],
        lineage=Lineage(inputs={}, code_version="test", parameters={}),
        metrics={},
        now=now,
    )
    assert outcome.swapped, outcome.message
    return outcome.manifest


def tamper_artifact(storage: FileStorage, manifest: Manifest, kind: str = "popularity") -> None:
    """Flip bytes of a published blob in place (what a corrupt copy or an attacker would do)."""
    path = Path(storage.root) / manifest.artifacts[kind].uri
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def pointer_path(storage: FileStorage, tenant: str, surface: str) -> Path:
    return Path(storage.root) / layout.pointer_key(tenant, surface)


def make_settings(storage: FileStorage, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "storage_url": storage.url,
        "signing_keys": signing_keys(),
        "api_keys": (),
        "watch_interval": 30.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]

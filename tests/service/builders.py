"""Publish real signed manifests into a file:// storage for service tests."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recsys_algo.contracts import layout
from recsys_algo.contracts.manifest import Lineage, Manifest, Window
from recsys_algo.contracts.signing import SigningKeys, parse_signing_keys
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.store.registry import publish
from recsys_algo.store.storage import FileStorage
from recsys_service.settings import ApiKey, Settings
from tests.support.builders import neighbor_frame, popularity_frame

SIGNING_SPEC = "test-kid:" + "ab" * 32
OTHER_SIGNING_SPEC = "other-kid:" + "cd" * 32
AS_OF = dt.date(2026, 11, 20)
# POST /v1/events takes times within a window around now (RECSYS_EVENTS_MAX_PAST_DAYS): the day
# before yesterday, whatever the date the tests run on.
EVENT_DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
EVENT_TS = f"{EVENT_DAY.isoformat()}T10:00:00Z"


def signing_keys(spec: str = SIGNING_SPEC) -> SigningKeys:
    return parse_signing_keys(spec)


def sha256_hex(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key(name: str, tenant: str, key: str) -> ApiKey:
    return ApiKey(name=name, tenant=tenant, sha256=bytes.fromhex(sha256_hex(key)))


def item_ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


Neighbours = Sequence[tuple[str, str, float]]  # (item_id, neighbor_id, score)


def publish_scope(
    storage: FileStorage,
    tenant: str,
    surface: str,
    items: Sequence[str],
    *,
    neighbors: Mapping[str, Neighbours] | None = None,
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    keys: SigningKeys | None = None,
    as_of: dt.date = AS_OF,
    now: dt.datetime | None = None,
) -> Manifest:
    """Publish popularity over items plus the given neighbour kinds, signed and verified."""
    blobs = [encode_artifact(popularity_frame(items), "popularity", 1)]
    blobs += [
        encode_artifact(neighbor_frame(rows), kind, 1) for kind, rows in (neighbors or {}).items()
    ]
    outcome = publish(
        storage,
        keys or signing_keys(),
        tenant=tenant,
        surface=surface,
        as_of=as_of,
        window=Window(
            start=(as_of - dt.timedelta(days=6)).isoformat(), end=as_of.isoformat(), days=7
        ),
        blobs=blobs,
        lineage=Lineage(inputs={}, code_version="test", parameters=dict(parameters or {})),
        metrics=dict(metrics or {}),
        now=now,
    )
    assert outcome.swapped, outcome.message
    return outcome.manifest


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
    return publish_scope(storage, tenant, surface, items, keys=keys, as_of=as_of, now=now)


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
        # In-thread loads keep these tests fast; tests/service/test_process_loader.py, the app test
        # with loader="process" and every real-server test run the child-process loader.
        "loader": "thread",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def neighbour_rows(prefix: str) -> dict[str, list[tuple[str, str, float]]]:
    """Neighbour tables over item_ids(prefix, ...): item 000 has all three kinds, 010 only
    content_sim, 001 only cooc and session_seq (see test_similar for the blended order)."""
    i = [f"{prefix}{n:03d}" for n in range(11)]
    return {
        "cooc": [(i[0], i[1], 0.9), (i[0], i[2], 0.5), (i[0], i[3], 0.1), (i[1], i[0], 0.9)],
        "content_sim": [(i[0], i[2], 0.8), (i[0], i[4], 0.7), (i[10], i[0], 0.2)],
        "session_seq": [(i[0], i[5], 0.6), (i[0], i[1], 0.3), (i[1], i[6], 0.4)],
    }


def publish_synthetic(storage: FileStorage, tenant: str = "demo", surface: str = "home") -> None:
    """Publish every kind of the synthetic demo (tests.support.models), known users included."""
    from tests.support.models import synthetic_blobs  # computes every kind: imported on use

    publish(
        storage, signing_keys(), tenant=tenant, surface=surface, as_of=AS_OF,
        window=Window(start="2026-11-14", end=AS_OF.isoformat(), days=7),
        blobs=list(synthetic_blobs()),
        lineage=Lineage(inputs={}, code_version="test", parameters={}), metrics={},
    )  # fmt: skip

"""One 'generation' of a scope: four artifacts whose item ids all carry one prefix.

Blobs are built apart from publishing, so a forked child can publish without touching polars
(whose thread pool does not survive fork).
"""

from __future__ import annotations

import datetime as dt

from recsys_algo.contracts.manifest import Lineage
from recsys_algo.kinds.artifacts import ArtifactBlob, encode_artifact
from recsys_algo.store.registry import publish
from recsys_algo.store.storage import Storage
from tests.support.builders import neighbor_frame, popularity_frame, signing_keys, window_for

AS_OF = dt.date(2026, 11, 20)
NEIGHBOUR_KINDS = ("cooc", "content_sim", "session_seq")


def generation_blobs(prefix: str) -> list[ArtifactBlob]:
    """popularity plus three neighbour kinds (four blobs) over 20 items named prefix000..."""
    items = [f"{prefix}{i:03d}" for i in range(20)]
    rows = [(items[i], items[(i + 1) % 20], 1.0 - i / 40) for i in range(20)]
    blobs = [encode_artifact(popularity_frame(items), "popularity", 1)]
    return blobs + [encode_artifact(neighbor_frame(rows), kind, 1) for kind in NEIGHBOUR_KINDS]


def publish_generation(
    storage: Storage,
    prefix: str,
    now: dt.datetime,
    *,
    blobs: list[ArtifactBlob] | None = None,
    tenant: str = "demo",
    surface: str = "home",
) -> str:
    """Publish generation_blobs(prefix) (or blobs built earlier); returns the served version."""
    outcome = publish(
        storage,
        signing_keys(),
        tenant=tenant,
        surface=surface,
        as_of=AS_OF,
        window=window_for(AS_OF),
        blobs=blobs if blobs is not None else generation_blobs(prefix),
        lineage=Lineage(inputs={}, code_version="test", parameters={}),
        metrics={},
        now=now,
    )
    assert outcome.swapped, outcome.message
    return outcome.manifest.manifest_version

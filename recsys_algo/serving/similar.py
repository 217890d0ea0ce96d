"""Items similar to one item: one neighbour index's list, or the blend of all of them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys_algo.contracts.errors import RecsysError
from recsys_algo.kinds.kind import NEIGHBOR_KINDS, SIMILAR_ALIASES
from recsys_algo.serving.recommender import BlendParams, Recommendation, ScopeModel

BLEND = "blend"
# Public kind names (what clients ask for) -> the artifact kinds they read.
SIMILAR_KINDS: Mapping[str, tuple[str, ...]] = {
    BLEND: NEIGHBOR_KINDS,
    **{alias: (kind,) for alias, kind in SIMILAR_ALIASES.items()},
}
SIMILAR_NAMES = tuple(SIMILAR_KINDS)


class KindNotAvailable(RecsysError):
    """The manifest has no artifact behind the requested kind."""


class ItemNotFound(RecsysError):
    """The item has no neighbour list in any index of the requested kind."""


def similar_items(
    model: ScopeModel,
    item_id: str,
    kind: str,
    k: int,
    exclude: frozenset[str],
    params: BlendParams,
    missing: Mapping[str, str] | None = None,
) -> list[Recommendation]:
    """Neighbours of item_id, never the item itself; `blend` fuses the present neighbour kinds
    by weighted reciprocal rank with item_id as the only seed (weights from params).
    missing: why the manifest lacks a kind (its lineage), said when that kind is asked for."""
    if kind not in SIMILAR_KINDS:
        raise KindNotAvailable(f"kind {kind!r} is unknown; known: {', '.join(SIMILAR_KINDS)}")
    indexes = {a: model.neighbors[a] for a in SIMILAR_KINDS[kind] if a in model.neighbors}
    if not indexes:
        why = "; ".join(
            f"{a}: {missing[a]}" for a in SIMILAR_KINDS[kind] if missing and a in missing
        )
        raise KindNotAvailable(
            f"kind {kind!r} is not available: the manifest has no "
            f"{' / '.join(SIMILAR_KINDS[kind])} artifact" + (f" ({why})" if why else "")
        )
    code = model.vocab.codes.get(item_id)
    if code is None or not any(index.has(code) for index in indexes.values()):
        raise ItemNotFound(f"item {item_id!r} has no {kind} neighbours")
    dropped = np.append(model.vocab.codes_of(exclude), np.int32(code))
    seed = [(code, 1.0)]
    if kind != BLEND:
        ((artifact, index),) = indexes.items()
        found = index.expand(seed, k, dropped)
        return [Recommendation(i, s, artifact) for i, s in model.scored(found)]
    n = max(k, params.candidates)
    candidates = {a: ix.expand(seed, n, dropped) for a, ix in indexes.items()}
    return model.recommendations(model.fuse(candidates, k, params))

"""Answer one query from a scope's artifacts: ranked candidates per kind, then the blend.

The service and the offline evaluation both call `ScopeModel.recommend`, so the ranking that is
measured before publishing is exactly the ranking that is served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recsys_algo.errors import ArtifactError, ConfigError

POPULARITY = "popularity"
NEIGHBOR_KINDS = ("session_seq", "cooc", "content_sim")
IMPLICIT = "implicit"
KINDS = (POPULARITY, "cooc", IMPLICIT, "content_sim", "session_seq")
# When two kinds contribute equally to an item, the more specific one names it.
_SOURCE_ORDER = (IMPLICIT, "session_seq", "cooc", "content_sim", POPULARITY)

Scored = list[tuple[str, float]]

DEFAULT_BLEND_WEIGHTS: Mapping[str, float] = {
    IMPLICIT: 1.0,
    "session_seq": 1.0,
    "cooc": 0.8,
    "content_sim": 0.5,
    POPULARITY: 0.3,
}


@dataclass(frozen=True)
class BlendParams:
    """Weighted reciprocal-rank fusion: score(item) = sum_kind weight / (rank_offset + rank)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_BLEND_WEIGHTS))
    rank_offset: float = 10.0
    recent_items: int = 5  # latest session items that seed the item-to-item kinds
    recency_decay: float = 0.7  # weight of the i-th latest seed: recency_decay ** i
    candidates: int = 100  # per kind, before fusion (at least k are always asked for)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(KINDS)
        if unknown:
            raise ConfigError(f"blend weights name unknown kinds: {', '.join(sorted(unknown))}")
        if any(not (np.isfinite(w) and w >= 0) for w in self.weights.values()):
            raise ConfigError("blend weights must be finite and >= 0")
        if self.weights.get(POPULARITY, 0) <= 0:
            raise ConfigError("blend weight of popularity must be > 0: it is the cold-start fill")
        if not self.rank_offset > 0:
            raise ConfigError(f"rank_offset must be > 0, got {self.rank_offset}")
        if not 1 <= self.recent_items <= 200:
            raise ConfigError(f"recent_items must be in 1..200, got {self.recent_items}")
        if not 0 < self.recency_decay <= 1:
            raise ConfigError(f"recency_decay must be in (0, 1], got {self.recency_decay}")
        if not 1 <= self.candidates <= 10_000:
            raise ConfigError(f"candidates must be in 1..10000, got {self.candidates}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "weights": dict(sorted(self.weights.items()))}

    @classmethod
    def from_lineage(cls, parameters: Mapping[str, Any], where: str) -> BlendParams:
        """The blend a manifest was evaluated with (defaults for manifests that predate it)."""
        given = parameters.get("blend")
        if given is None:
            return cls()
        try:
            return cls(**given)
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(f"{where}: manifest blend parameters are invalid: {exc}") from None


@dataclass(frozen=True)
class Query:
    k: int
    user_id: str | None = None
    session_items: tuple[str, ...] = ()  # oldest first, latest last
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Recommendation:
    item_id: str
    score: float
    source: str


def _take(ids: Iterable[str], scores: Iterable[float], n: int, exclude: frozenset[str]) -> Scored:
    picked: Scored = []
    for item_id, score in zip(ids, scores, strict=True):
        if item_id not in exclude:
            picked.append((item_id, score))
            if len(picked) == n:
                break
    return picked


@dataclass(frozen=True, slots=True)
class PopularityIndex:
    """Item ids and scores, sorted by score descending exactly as in the artifact."""

    item_ids: npt.NDArray[np.object_]
    scores: npt.NDArray[np.float64]

    @classmethod
    def from_table(cls, table: pa.Table) -> PopularityIndex:
        return cls(
            item_ids=np.asarray(table["item_id"].to_pylist(), dtype=object),
            scores=np.asarray(table["score"].to_numpy(), dtype=np.float64),
        )

    def top(self, k: int, exclude: frozenset[str]) -> Scored:
        # Over-fetch by |exclude|: even if every excluded id ranks high, k items remain.
        window = k + len(exclude)
        return _take(self.item_ids[:window].tolist(), self.scores[:window].tolist(), k, exclude)


@dataclass(frozen=True, slots=True)
class NeighborIndex:
    """item -> ranked neighbours, from a table sorted by item_id then score (cooc and friends).

    Arrays, not per-row Python objects: neighbours are int32 codes into `vocabulary` (the
    distinct neighbour ids), scores one float64 array; a 1M-row artifact costs ~12 MB, not the
    ~100 MB of Python strings and floats, and builds in Arrow without holding the GIL per row.
    """

    spans: Mapping[str, tuple[int, int]]
    vocabulary: npt.NDArray[np.object_]
    codes: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float64]

    @property
    def neighbor_ids(self) -> list[str]:
        """Every row's neighbour id, in table order (tests and tools; not the serving path)."""
        return self.vocabulary[self.codes].tolist()  # type: ignore[no-any-return]

    @classmethod
    def from_table(cls, table: pa.Table) -> NeighborIndex:
        # Rows are grouped by item_id: spans come from where its dictionary code changes, so
        # only the distinct ids ever become Python strings.
        items = pc.dictionary_encode(table["item_id"]).combine_chunks()
        rows = items.indices.to_numpy(zero_copy_only=False)
        spans: dict[str, tuple[int, int]] = {}
        if len(rows):
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            ends = np.r_[starts[1:], len(rows)]
            names = items.dictionary.take(pa.array(rows[starts])).to_pylist()
            spans = {
                str(name): (int(s), int(e)) for name, s, e in zip(names, starts, ends, strict=True)
            }
        encoded = pc.dictionary_encode(table["neighbor_id"]).combine_chunks()
        return cls(
            spans=spans,
            vocabulary=np.asarray(encoded.dictionary.to_pylist(), dtype=object),
            codes=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32),
            scores=table["score"].to_numpy().astype(np.float64),
        )

    def expand(self, seeds: Sequence[tuple[str, float]], n: int, exclude: frozenset[str]) -> Scored:
        """Sum weight * score over the seeds' neighbour lists; best n, ties by item id."""
        spans = [(self.spans[seed], weight) for seed, weight in seeds if seed in self.spans]
        if not spans:
            return []
        codes = np.concatenate([self.codes[start:end] for (start, end), _ in spans])
        # Same products, added per item in seed order, as a Python loop would: same floats.
        weighted = np.concatenate(
            [weight * self.scores[start:end] for (start, end), weight in spans]
        )
        found, inverse = np.unique(codes, return_inverse=True)
        totals = np.bincount(inverse, weights=weighted, minlength=found.size)
        ranked = sorted(
            zip(self.vocabulary[found].tolist(), totals.tolist(), strict=True),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return _take((i for i, _ in ranked), (s for _, s in ranked), n, exclude)


class CollabLookup(Protocol):
    """What the blend needs from the implicit model: known users by lookup, others by fold-in."""

    def known_user_top(self, user_id: str, k: int) -> Scored | None: ...

    def fold_in(self, item_ids: Sequence[str], k: int, exclude: set[str]) -> Scored: ...


def seeds_of(session_items: Sequence[str], params: BlendParams) -> list[tuple[str, float]]:
    """Latest distinct session items, latest first, weighted by recency."""
    seeds: list[str] = []
    for item_id in reversed(session_items):
        if item_id not in seeds:
            seeds.append(item_id)
            if len(seeds) == params.recent_items:
                break
    return [(item_id, params.recency_decay**i) for i, item_id in enumerate(seeds)]


@dataclass(frozen=True, slots=True)
class ScopeModel:
    """Everything one manifest version serves; built once per load, never mutated."""

    popularity: PopularityIndex
    neighbors: Mapping[str, NeighborIndex] = field(default_factory=dict)
    collab: CollabLookup | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        present = {POPULARITY, *self.neighbors, *([IMPLICIT] if self.collab else [])}
        return tuple(kind for kind in KINDS if kind in present)

    def candidates(self, query: Query, params: BlendParams) -> dict[str, Scored]:
        """Each kind's own ranking for the query (exclusions applied, at most n items)."""
        n = max(query.k, params.candidates)
        found: dict[str, Scored] = {POPULARITY: self.popularity.top(n, query.exclude)}
        seeds = seeds_of(query.session_items, params)
        for kind, index in self.neighbors.items():
            found[kind] = index.expand(seeds, n, query.exclude) if seeds else []
        if self.collab is not None:
            known = None
            if query.user_id is not None:
                known = self.collab.known_user_top(query.user_id, n + len(query.exclude))
            if known is not None:
                found[IMPLICIT] = _take(
                    (i for i, _ in known), (s for _, s in known), n, query.exclude
                )
            elif query.session_items:
                found[IMPLICIT] = self.collab.fold_in(
                    list(query.session_items), n, set(query.exclude)
                )
            else:
                found[IMPLICIT] = []
        return found

    def recommend(self, query: Query, params: BlendParams) -> list[Recommendation]:
        return blend(self.candidates(query, params), query.k, params)


def _fuse(
    candidates: Mapping[str, Scored],
    k: int,
    params: BlendParams,
    parts: dict[str, dict[str, float]] | None = None,
) -> list[Recommendation]:
    """Weighted reciprocal-rank fusion; when parts is given, it also receives each item's terms
    per kind, added in the same order as the score so they sum to it exactly."""
    totals: dict[str, float] = {}
    best: dict[str, tuple[float, int]] = {}  # item -> (contribution, -source order) of its source
    for kind in _SOURCE_ORDER:
        weight = params.weights.get(kind, 0.0)
        if weight <= 0:
            continue
        order = -_SOURCE_ORDER.index(kind)
        for rank, (item_id, _) in enumerate(candidates.get(kind, ())):
            part = weight / (params.rank_offset + rank + 1)
            totals[item_id] = totals.get(item_id, 0.0) + part
            if (part, order) > best.get(item_id, (0.0, -len(_SOURCE_ORDER))):
                best[item_id] = (part, order)
            if parts is not None:
                terms = parts.setdefault(item_id, {})
                terms[kind] = terms.get(kind, 0.0) + part
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
    return [
        Recommendation(item_id, score, _SOURCE_ORDER[-best[item_id][1]])
        for item_id, score in ranked
    ]


def blend(candidates: Mapping[str, Scored], k: int, params: BlendParams) -> list[Recommendation]:
    """Fuse per-kind rankings by weighted reciprocal rank; the largest contributor is the source."""
    return _fuse(candidates, k, params)


@dataclass(frozen=True, slots=True)
class Explained:
    """A blended item with each kind's reciprocal-rank term; the terms sum to its score."""

    recommendation: Recommendation
    contributions: Mapping[str, float]


def blend_explained(
    candidates: Mapping[str, Scored], k: int, params: BlendParams
) -> list[Explained]:
    """`blend`, plus the per-kind terms of each item's score (same items, order and scores)."""
    parts: dict[str, dict[str, float]] = {}
    return [Explained(r, parts[r.item_id]) for r in _fuse(candidates, k, params, parts)]


def build_model(
    tables: Mapping[str, pa.Table], collab_factory: Any | None = None, *, where: str = ""
) -> ScopeModel:
    """A ScopeModel from decoded artifact tables; popularity is required, the rest optional."""
    if POPULARITY not in tables:
        raise ArtifactError(f"{where}: no {POPULARITY} artifact".lstrip(": "))
    neighbors = {k: NeighborIndex.from_table(tables[k]) for k in NEIGHBOR_KINDS if k in tables}
    collab = None
    if IMPLICIT in tables and collab_factory is not None:
        collab = collab_factory(tables[IMPLICIT])
    return ScopeModel(PopularityIndex.from_table(tables[POPULARITY]), neighbors, collab)

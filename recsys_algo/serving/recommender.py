"""Answer one query from a scope's artifacts: ranked candidates per kind, then the blend.

The service and the offline evaluation both call `ScopeModel.recommend`, so the ranking that is
measured before publishing is exactly the ranking that is served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.kinds.kind import (
    DEFAULT_BLEND_WEIGHTS,
    FACTORS,
    ITEM_WEIGHTS,
    KINDS,
    POPULARITY,
    REVISIT,
    SESSIONS,
    SOURCE_ORDER,
)
from recsys_algo.serving.indexes import NeighborIndex, PopularityIndex
from recsys_algo.serving.ranking import EMPTY, Codes, Fused, FusedLists, ItemVocab, Ranked, fuse
from recsys_algo.serving.revisit_index import RevisitIndex
from recsys_algo.serving.session_index import SessionIndex

NO_CODES: Codes = np.zeros(0, np.int32)

Scored = list[tuple[str, float]]


@dataclass(frozen=True)
class BlendParams:
    """Weighted reciprocal-rank fusion: score(item) = sum_kind weight / (rank_offset + rank)."""

    weights: Mapping[str, float] = field(default_factory=lambda: {**DEFAULT_BLEND_WEIGHTS})
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
        # Bounded: the blend relies on terms that fall strictly with rank, which floats stop
        # telling apart once rank_offset dwarfs the ranks (around 1e15).
        if not 0 < self.rank_offset <= 1e6:
            raise ConfigError(f"rank_offset must be in (0, 1e6], got {self.rank_offset}")
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


class CollabLookup(Protocol):
    """What the blend needs from the implicit model: known users by lookup, others by fold-in."""

    @property
    def user_rows(self) -> Mapping[str, int]:
        """Known user id -> row (the order plain answers are stored in)."""
        ...

    def known_user_top(self, user_id: str, n: int, exclude: Codes) -> Ranked | None: ...

    def fold_in(self, item_codes: Codes, n: int, exclude: Codes) -> Ranked: ...


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

    vocab: ItemVocab
    popular_items: PopularityIndex  # the popularity kind: the cold-start fill
    neighbors: Mapping[str, NeighborIndex] = field(default_factory=dict)
    collab: CollabLookup | None = None
    plain: PlainAnswers | None = None  # recsys_algo.serving.precomputed: answers computed ahead
    revisits: RevisitIndex | None = None  # the repeat model
    sessions: SessionIndex | None = None  # session neighbours
    item_scores: CollabLookup | None = None  # the item_model kind

    @property
    def kinds(self) -> tuple[str, ...]:
        present = {POPULARITY, *self.neighbors}
        optional = ((REVISIT, self.revisits), (SESSIONS, self.sessions), *self.user_models())
        present.update(kind for kind, index in optional if index is not None)
        return tuple(kind for kind in KINDS if kind in present)

    def candidates(self, query: Query, params: BlendParams) -> dict[str, Ranked]:
        """Each kind's own ranking for the query (exclusions applied, at most n items)."""
        n = max(query.k, params.candidates)
        exclude = self.vocab.codes_of(query.exclude) if query.exclude else NO_CODES
        found: dict[str, Ranked] = {POPULARITY: self.popular_items.top(n, exclude)}
        known = self.vocab.codes
        seeds = [
            (known[item], weight)
            for item, weight in seeds_of(query.session_items, params)
            if item in known
        ]
        for kind, index in self.neighbors.items():
            found[kind] = index.expand(seeds, n, exclude) if seeds else EMPTY
        if self.revisits is not None or self.sessions is not None:
            session = self.vocab.session_codes(query.session_items)
            if self.revisits is not None:
                found[REVISIT] = self.revisits.rank(session, n, exclude)
            if self.sessions is not None:
                found[SESSIONS] = self.sessions.rank(session, n, exclude)
        for kind, users in self.user_models():
            ranked = None
            if query.user_id is not None:
                ranked = users.known_user_top(query.user_id, n, exclude)
            if ranked is None:
                sent = self.vocab.codes_of(query.session_items)
                ranked = users.fold_in(sent, n, exclude) if sent.size else EMPTY
            found[kind] = ranked
        return found

    def user_models(self) -> list[tuple[str, CollabLookup]]:
        """The kinds that know users (known users by lookup, others by fold-in), implicit first:
        plain answers are stored in the first one's user order."""
        both = ((FACTORS, self.collab), (ITEM_WEIGHTS, self.item_scores))
        return [(kind, users) for kind, users in both if users is not None]

    def plain_row(self, plain: PlainAnswers, user_id: str | None) -> int:
        """The row of a plain query's precomputed answer; -1: answer it live."""
        models = [users for _, users in self.user_models()]
        if user_id is None or not models:
            return plain.anyone
        found = models[0].user_rows.get(user_id)
        if found is not None:
            return found if found < plain.users else -1  # past the precomputed rows: live
        # Unknown to the first model but known to another: its own list takes part.
        return -1 if any(user_id in users.user_rows for users in models[1:]) else plain.anyone

    def fuse(
        self, candidates: Mapping[str, Ranked], k: int, params: BlendParams, explain: bool = False
    ) -> Fused:
        return fuse(candidates, k, params.weights, params.rank_offset, explain=explain)

    def answer(self, query: Query, params: BlendParams, explain: bool = False) -> Fused:
        """The blend's top k for the query: looked up when computed ahead, else computed."""
        plain = self.plain
        if (
            plain is not None
            and not (explain or query.session_items or query.exclude)
            and query.k <= plain.k
            and (params is plain.params or params == plain.params)
        ):
            row = self.plain_row(plain, query.user_id)
            if row >= 0:
                return plain.lists.row(row, query.k)
        return self.fuse(self.candidates(query, params), query.k, params, explain=explain)

    def recommend(self, query: Query, params: BlendParams) -> list[Recommendation]:
        return self.recommendations(self.answer(query, params))

    def recommendations(self, fused: Fused) -> list[Recommendation]:
        ids = self.vocab.ids
        return [
            Recommendation(ids[code], score, SOURCE_ORDER[source])
            for code, score, source in zip(
                fused.codes.tolist(), fused.scores.tolist(), fused.sources.tolist(), strict=True
            )
        ]

    def popular(self, k: int) -> Scored:
        """The k most popular items, in order (GET /v1/popular, tests and tools)."""
        return self.scored(self.popular_items.top(k, NO_CODES))

    def scored(self, ranked: Ranked) -> Scored:
        """A kind's ranking as (item id, score) pairs (evaluation, tests and tools)."""
        ids = self.vocab.ids
        return [
            (ids[c], s) for c, s in zip(ranked.codes.tolist(), ranked.scores.tolist(), strict=True)
        ]


def _ranked_lists(
    candidates: Mapping[str, Scored],
) -> tuple[ItemVocab, dict[str, Ranked]]:
    vocab = ItemVocab.of(item for ranked in candidates.values() for item, _ in ranked)
    lists = {
        kind: Ranked(vocab.codes_of(i for i, _ in ranked), np.array([s for _, s in ranked], float))
        for kind, ranked in candidates.items()
    }
    return vocab, lists


def blend(candidates: Mapping[str, Scored], k: int, params: BlendParams) -> list[Recommendation]:
    """Fuse per-kind rankings of item ids by weighted reciprocal rank; the largest contributor
    is the source (the array path the service runs, for callers holding ids)."""
    return [e.recommendation for e in blend_explained(candidates, k, params)]


@dataclass(frozen=True, slots=True)
class Explained:
    """A blended item with each kind's reciprocal-rank term; the terms sum to its score."""

    recommendation: Recommendation
    contributions: Mapping[str, float]


def explained(model_ids: Sequence[str], fused: Fused) -> list[Explained]:
    """Each fused item with its non-zero terms, named by kind (needs `fuse(..., explain=True)`)."""
    assert fused.terms is not None
    terms = fused.terms.T.tolist()
    return [
        Explained(
            Recommendation(model_ids[code], score, SOURCE_ORDER[source]),
            {kind: part for kind, part in zip(SOURCE_ORDER, row, strict=True) if part > 0},
        )
        for code, score, source, row in zip(
            fused.codes.tolist(), fused.scores.tolist(), fused.sources.tolist(), terms, strict=True
        )
    ]


def blend_explained(
    candidates: Mapping[str, Scored], k: int, params: BlendParams
) -> list[Explained]:
    """`blend`, plus the per-kind terms of each item's score (same items, order and scores)."""
    vocab, lists = _ranked_lists(candidates)
    return explained(vocab.ids, fuse(lists, k, params.weights, params.rank_offset, explain=True))


@dataclass(frozen=True, slots=True)
class PlainAnswers:
    """Row u answers collab user row u (u < users); the last row answers everyone else."""

    params: BlendParams
    k: int
    users: int
    lists: FusedLists

    @property
    def anyone(self) -> int:
        return self.users

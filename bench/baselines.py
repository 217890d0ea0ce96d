"""Reference baselines for bench/quality.py, written apart from the product's kinds (numpy and
scipy over the same training events), so the product is compared with the published methods,
not with itself.

Every baseline answers `recommend(items, k, exclude)`: `items` is the query's history (a
session prefix, or a user's training items), oldest first; nothing outside the training items
is ever named (the same candidate universe as the product's).

- popularity: interaction counts in training, all time.
- sequential rules (Ludewig & Jannach's SR): item b after item a within a session, up to 10
  steps later, weighs 1/steps; a query is scored by the rules of its last item. Self-rules
  count (a re-opened item follows itself), as in session-rec.
- item-kNN: cosine between items' binary session (or user) vectors, diagonal zero; sessions
  score by the last item's row (session-rec's ItemKNN), users by the sum over their history.
- session-kNN (V-SkNN): the 1000 most recent training sessions sharing an item with the query
  (items weighted 1/distance from its end), the 100 most similar vote with their similarity.
- EASE (Steck 2019): B = -P / diag(P), P = (X'X + l2 I)^-1, diag(B) = 0; users: history @ B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys_algo.evaluation.sessions import MAX_SESSION_LENGTH, SESSION_GAP_MINUTES
from recsys_algo.evaluation.split import INTERACTIONS
from recsys_algo.kinds.sessions import sessionize

SR_STEPS = 10
KNN_SAMPLE, KNN_NEIGHBORS = 1000, 100
EASE_L2 = 200.0


@dataclass(frozen=True)
class Training:
    """The training part as sessions of item codes (repeats kept), in time order."""

    ids: list[str]  # code -> item id, sorted
    codes: dict[str, int]
    sessions: list[np.ndarray]  # oldest session first
    users: sp.csr_matrix  # user x item, binary (empty without user ids)

    @classmethod
    def of(cls, train: pl.DataFrame) -> Training:
        events = train.filter(pl.col("event_type").is_in(INTERACTIONS))
        ids = sorted(events["item_id"].unique().to_list())
        codes = {item: code for code, item in enumerate(ids)}
        frame = sessionize(
            events,
            gap_minutes=SESSION_GAP_MINUTES,
            max_session_length=MAX_SESSION_LENGTH,
            collapse_repeats=False,
        ).frame
        grouped = (
            frame.group_by("session_key", maintain_order=True)
            .agg(pl.col("item_id"), start=pl.col("ts").min())
            .sort("start", "session_key")
        )
        sessions = [
            np.fromiter((codes[i] for i in items), dtype=np.int64, count=len(items))
            for items in grouped["item_id"].to_list()
        ]
        rated = events.filter(pl.col("user_id").is_not_null()).select("user_id", "item_id")
        user_codes = {u: n for n, u in enumerate(sorted(rated["user_id"].unique().to_list()))}
        rows = np.fromiter((user_codes[u] for u in rated["user_id"]), dtype=np.int64)
        cols = np.fromiter((codes[i] for i in rated["item_id"]), dtype=np.int64)
        users = sp.csr_matrix(
            (np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=(len(user_codes), len(ids))
        )
        users.data[:] = 1.0  # duplicates summed: binary again
        return cls(ids, codes, sessions, users)

    def session_matrix(self) -> sp.csr_matrix:
        rows = np.repeat(np.arange(len(self.sessions)), [s.size for s in self.sessions])
        cols = np.concatenate(self.sessions) if self.sessions else np.zeros(0, np.int64)
        matrix = sp.csr_matrix(
            (np.ones(rows.size), (rows, cols)), shape=(len(self.sessions), len(self.ids))
        )
        matrix.data[:] = 1.0
        return matrix

    def known(self, items: Sequence[str]) -> np.ndarray:
        return np.array([self.codes[i] for i in items if i in self.codes], dtype=np.int64)


class Baseline:
    name = ""

    def __init__(self, data: Training) -> None:
        self.data = data

    def scores(self, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    positive_only = True  # False: every item ranks, negative scores too (EASE)

    def recommend(self, items: Sequence[str], k: int, exclude: frozenset[str]) -> list[str]:
        """The top k by score (ties by item id), only items with a positive score."""
        scores = self.scores(self.data.known(items)).astype(np.float64, copy=True)
        for item in exclude:
            code = self.data.codes.get(item)
            if code is not None:
                scores[code] = -np.inf
        ranked = np.flatnonzero(scores > 0 if self.positive_only else np.isfinite(scores))
        order = ranked[np.lexsort((ranked, -scores[ranked]))][:k]
        return [self.data.ids[c] for c in order]


class Popularity(Baseline):
    name = "popularity"

    def __init__(self, data: Training) -> None:
        super().__init__(data)
        flat = np.concatenate(data.sessions) if data.sessions else np.zeros(0, np.int64)
        self.counts = np.bincount(flat, minlength=len(data.ids)).astype(np.float64)

    def scores(self, items: np.ndarray) -> np.ndarray:
        return self.counts


class SequentialRules(Baseline):
    name = "sequential rules"

    def __init__(self, data: Training, steps: int = SR_STEPS) -> None:
        super().__init__(data)
        rows, cols, weights = [], [], []
        for session in data.sessions:
            for step in range(1, min(steps, session.size - 1) + 1):
                rows.append(session[:-step])
                cols.append(session[step:])
                weights.append(np.full(session.size - step, 1.0 / step))
        n = len(data.ids)
        self.rules = sp.csr_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )

    def scores(self, items: np.ndarray) -> np.ndarray:
        if not items.size:
            return np.zeros(len(self.data.ids))
        return self.rules[int(items[-1])].toarray().ravel()


class ItemKNN(Baseline):
    name = "item-kNN"

    def __init__(self, data: Training, by_users: bool) -> None:
        super().__init__(data)
        matrix = data.users if by_users else data.session_matrix()
        gram = (matrix.T @ matrix).tocsr().astype(np.float64)
        norms = np.sqrt(np.maximum(gram.diagonal(), 1e-12))
        gram = sp.diags(1 / norms) @ gram @ sp.diags(1 / norms)
        gram.setdiag(0.0)
        self.sim, self.by_users = gram.tocsr(), by_users

    def scores(self, items: np.ndarray) -> np.ndarray:
        if not items.size:
            return np.zeros(len(self.data.ids))
        chosen = np.unique(items) if self.by_users else items[-1:]
        return np.asarray(self.sim[chosen].sum(axis=0)).ravel()


class SessionKNN(Baseline):
    name = "session-kNN"

    def __init__(self, data: Training) -> None:
        super().__init__(data)
        self.matrix = data.session_matrix()

    def scores(self, items: np.ndarray) -> np.ndarray:
        query = np.zeros(len(self.data.ids))
        for distance, code in enumerate(items[::-1], start=1):
            query[code] = max(query[code], 1.0 / distance)
        sims = self.matrix @ query
        found = np.flatnonzero(sims > 0)[-KNN_SAMPLE:]  # sessions are oldest first
        top = found[np.lexsort((found, -sims[found]))][:KNN_NEIGHBORS]
        return np.asarray(self.matrix[top].T @ sims[top]).ravel()


class EASE(Baseline):
    name = f"EASE (l2 {EASE_L2:g})"
    positive_only = False

    def __init__(self, data: Training, l2: float = EASE_L2) -> None:
        super().__init__(data)
        gram = (data.users.T @ data.users).toarray()
        gram[np.diag_indices_from(gram)] += l2
        inverse = np.linalg.inv(gram)
        self.weights = -inverse / np.diag(inverse)
        np.fill_diagonal(self.weights, 0.0)

    def scores(self, items: np.ndarray) -> np.ndarray:
        if not items.size:
            return np.zeros(len(self.data.ids))
        return self.weights[np.unique(items)].sum(axis=0)


def session_baselines(data: Training) -> list[Baseline]:
    return [Popularity(data), SequentialRules(data), ItemKNN(data, False), SessionKNN(data)]


def user_baselines(data: Training) -> list[Baseline]:
    return [Popularity(data), SequentialRules(data), ItemKNN(data, True), EASE(data)]

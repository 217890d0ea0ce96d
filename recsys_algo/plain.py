"""Plain queries answered ahead: every known user, and anyone else, with nothing but k.

A query with a user id (or none), no session items, no exclusions, the version's own blend and
k up to PLAIN_K has one answer per user and version. The loader computes all of them once, by
the same `fuse(candidates(...))` a live request runs, so a lookup returns exactly the live
answer (tests/unit/test_plain.py checks every user). Anything else is answered live.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from recsys_algo.collab_index import CollabIndex
from recsys_algo.ranking import FusedLists
from recsys_algo.recommender import BlendParams, Query, ScopeModel

PLAIN_K = 50
# Users beyond this many (in factor-row order) are answered live: ~30 us and 650 bytes each.
PLAIN_MAX_USERS = 2_000_000


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


def plain_answers(model: ScopeModel, params: BlendParams, k: int = PLAIN_K) -> PlainAnswers:
    """Every plain answer of the model at depth k (at most params.candidates, so each is the
    prefix of any shallower one: a plain answer for k' <= k is its first k' items)."""
    k = min(k, params.candidates)
    users: list[str] = []
    if isinstance(model.collab, CollabIndex):
        users = model.collab.arrays.user_ids[:PLAIN_MAX_USERS]
    # Filled in place: ~650 bytes a user, where a list of answers held ~1.7 kB at its peak.
    rows = len(users) + 1
    offsets = np.zeros(rows + 1, np.int64)
    codes = np.empty(rows * k, np.int32)
    scores = np.empty(rows * k, np.float64)
    sources = np.empty(rows * k, np.int8)
    end = 0
    for row, user in enumerate([*users, None]):
        found = model.fuse(model.candidates(Query(k=k, user_id=user), params), k, params)
        n = len(found)
        codes[end : end + n], scores[end : end + n] = found.codes, found.scores
        sources[end : end + n] = found.sources
        end += n
        offsets[row + 1] = end
    lists = FusedLists(offsets, codes[:end], scores[:end], sources[:end])
    return PlainAnswers(params, k, len(users), lists)


def with_plain_answers(model: ScopeModel, params: BlendParams) -> ScopeModel:
    return dataclasses.replace(model, plain=plain_answers(model, params))

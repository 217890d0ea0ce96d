"""Plain queries answered ahead: every known user, and anyone else, with nothing but k.

A query with a user id (or none), no session items, no exclusions, the version's own blend and
k up to PLAIN_K has one answer per user and version. The loader computes all of them once, by
the same `fuse(candidates(...))` a live request runs, so a lookup returns exactly the live
answer (tests/unit/test_plain.py checks every user). Anything else is answered live.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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
    users = []
    if isinstance(model.collab, CollabIndex):
        users = model.collab.arrays.user_ids[:PLAIN_MAX_USERS]
    queries = [*(Query(k=k, user_id=user) for user in users), Query(k=k)]
    answers = [model.fuse(model.candidates(q, params), k, params) for q in queries]
    return PlainAnswers(params, k, len(users), FusedLists.of(answers))


def with_plain_answers(model: ScopeModel, params: BlendParams) -> ScopeModel:
    return dataclasses.replace(model, plain=plain_answers(model, params))

"""How the tuning job judges a trial: held-out users and session positions, one number.

The objective is the sum over the protocols counted (the ones the scope serves: both by default)
and measured on the tuning split of users' NDCG@20 + Recall@20 and sessions' HR@20 + MRR@20
(evaluation.evaluate computes them; a protocol with too few cases is left out). A kind is judged
alone on the protocol it serves (session kinds on sessions, user models on users, the other when
its own is not measured); the blend on both. Candidates of the final models are computed once,
so a blend trial only fuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recsys_algo.evaluation import metrics
from recsys_algo.evaluation.evaluate import rank_queries
from recsys_algo.evaluation.params import EvalParams
from recsys_algo.evaluation.sessions import SessionCases
from recsys_algo.evaluation.split import Holdout
from recsys_algo.kinds.search import SESSION_KINDS
from recsys_algo.serving.ranking import Ranked
from recsys_algo.serving.recommender import BlendParams, Query, ScopeModel

USERS, SESSIONS = "users", "sessions"
PROTOCOLS = (USERS, SESSIONS)
CUTOFF = 20


@dataclass(frozen=True)
class Judge:
    """The tuning split's held-out cases and how a ranking of them scores."""

    users: Holdout
    cases: SessionCases
    params: EvalParams
    counted: tuple[str, ...] = PROTOCOLS  # the protocols the scope serves

    @property
    def protocols(self) -> tuple[str, ...]:
        """The counted protocols with enough held-out cases to count."""
        found = []
        if USERS in self.counted and len(self.users.users) >= self.params.min_users:
            found.append(USERS)
        if SESSIONS in self.counted and len(self.cases) >= self.params.min_session_cases:
            found.append(SESSIONS)
        return tuple(found)

    def queries(self, protocol: str) -> list[Query]:
        if protocol == USERS:
            return [
                Query(k=CUTOFF, user_id=user, session_items=history, exclude=frozenset(history))
                for user, history in zip(self.users.users, self.users.histories, strict=True)
            ]
        return [Query(k=CUTOFF, session_items=prefix) for prefix in self.cases.prefixes]

    def score(self, protocol: str, recs: Sequence[Sequence[str]]) -> float:
        """users: NDCG@20 + Recall@20; sessions: HR@20 + MRR@20."""
        if protocol == USERS:
            hits, sizes = metrics.hit_matrix(recs, self.users.truth, CUTOFF)
            return metrics.ndcg_of(hits, sizes, CUTOFF) + metrics.recall_of(hits, sizes, CUTOFF)
        truth = [{target} for target in self.cases.targets]
        hits, sizes = metrics.hit_matrix(recs, truth, CUTOFF)
        return metrics.recall_of(hits, sizes, CUTOFF) + metrics.mrr_of(hits)

    def protocol_of(self, kind: str) -> str:
        """The protocol a kind is judged on alone."""
        own = SESSIONS if kind in SESSION_KINDS else USERS
        other = USERS if own == SESSIONS else SESSIONS
        return own if own in self.protocols else other

    def kind_value(self, model: ScopeModel, kind: str, blend: BlendParams) -> float:
        """One kind's own answers, scored on its protocol."""
        protocol = self.protocol_of(kind)
        ranked = rank_queries(model, self.queries(protocol), blend, CUTOFF)
        return self.score(protocol, ranked[kind])


@dataclass(frozen=True)
class Cached:
    """Every kind's candidates for every held-out query of one model, computed once."""

    model: ScopeModel
    found: Mapping[str, list[dict[str, Ranked]]]  # protocol -> per query, kind -> ranking

    @classmethod
    def of(cls, judge: Judge, model: ScopeModel, blend: BlendParams) -> Cached:
        return cls(
            model,
            {
                protocol: [model.candidates(q, blend) for q in judge.queries(protocol)]
                for protocol in judge.protocols
            },
        )

    def value(self, judge: Judge, blend: BlendParams) -> float:
        """The blend's objective with these weights: fuse the cached candidates."""
        total = 0.0
        ids = self.model.vocab.ids
        for protocol, queries in self.found.items():
            recs = [
                [ids[c] for c in self.model.fuse(found, CUTOFF, blend).codes.tolist()]
                for found in queries
            ]
            total += judge.score(protocol, recs)
        return total


def described(values: Mapping[str, Any]) -> dict[str, Any]:
    """Trial parameters as plain JSON values (numpy scalars and tuples made plain)."""
    return {
        str(name): (value.item() if hasattr(value, "item") else value)
        for name, value in values.items()
    }

"""The artifact kinds: the one place their names are written, and what every layer knows of them.

A kind's name is its Dagster asset, its artifact file, its manifest entry, its blend weight
and the `source` of the items it contributes. This module holds what the service, the blend
and the storage need to know of a kind without computing it, and imports nothing but the
standard library (the service imports it). How a kind is computed, checked and configured is
`recsys_algo.kinds.registry`.

Adding a kind: a member of `Kind`, its row in `INFO` (and its place in `SOURCE_ORDER`), its
module under `kinds/`, and its row in `registry.SPECS`. Nothing else lists kinds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """Artifact kinds in manifest order; each value is the kind's name everywhere."""

    POPULARITY = "popularity"
    COOC = "cooc"
    IMPLICIT = "implicit"
    CONTENT_SIM = "content_sim"
    SESSION_SEQ = "session_seq"
    REVISIT = "revisit"
    SESSION_KNN = "session_knn"
    ITEM_MODEL = "item_model"


class Role(enum.Enum):
    """How the blend uses a kind's artifact."""

    POPULARITY = enum.auto()  # one ranked list: the cold-start fill, required in every manifest
    NEIGHBORS = enum.auto()  # item -> ranked items, seeded by the session's latest items
    FACTORS = enum.auto()  # user and item factors: known users by lookup, others by fold-in
    REVISIT = enum.auto()  # the session's own items, by how likely each is to come next
    SESSIONS = enum.auto()  # past sessions: those sharing the query's items vote for theirs
    ITEM_WEIGHTS = enum.auto()  # item x item weights: known users by lookup, others fold in


@dataclass(frozen=True)
class KindInfo:
    role: Role
    blend_weight: float  # default weight in the blend
    description: str  # the Dagster asset's description
    similar_alias: str | None = None  # its name in GET /v1/similar (neighbour kinds only)
    reads_events: bool = True  # False: computed from the catalog alone
    in_signals_db: bool = False  # mirrored into the signals database (DB-only serving)


INFO: Mapping[Kind, KindInfo] = {
    Kind.POPULARITY: KindInfo(
        Role.POPULARITY,
        0.3,
        "Decayed, event-type weighted item popularity over the trailing window; top-N.",
        in_signals_db=True,
    ),
    Kind.COOC: KindInfo(
        Role.NEIGHBORS,
        0.8,
        "Item-to-item neighbours from co-occurrence in sessions; normalised, top-N per item.",
        similar_alias="cooc",
        in_signals_db=True,
    ),
    Kind.IMPLICIT: KindInfo(
        Role.FACTORS,
        1.0,
        "Implicit-feedback matrix factorisation: factors and top-N per known user.",
    ),
    Kind.CONTENT_SIM: KindInfo(
        Role.NEIGHBORS,
        0.5,
        "Item-to-item similarity from catalog tags and titles (TF-IDF); cold items too.",
        similar_alias="content",
        reads_events=False,
        in_signals_db=True,
    ),
    Kind.SESSION_SEQ: KindInfo(
        Role.NEIGHBORS,
        1.0,
        "What comes next: successors within sessions, weighted by distance and recency.",
        similar_alias="session",
        in_signals_db=True,
    ),
    Kind.REVISIT: KindInfo(
        Role.REVISIT,
        # 4, not 1: its rank 1 (4/11) must outweigh an item that popularity, cooc,
        # content_sim and implicit fold-in all rank first (2.6/11); at 1 they outvoted it and
        # the blend's session MRR@20 fell to a third of the best kind's (docs/quality.md,
        # "Blend defaults"). It ranks only the session's own items, so answers without them
        # (known users' plain answers, the user evaluation, logs without repeats) do not move.
        4.0,
        "Repeat model: how likely the session's own items come next, by recency and count.",
    ),
    Kind.SESSION_KNN: KindInfo(
        Role.SESSIONS,
        1.0,
        "Session neighbours (VSKNN): past sessions sharing the current session's items vote.",
    ),
    Kind.ITEM_MODEL: KindInfo(
        Role.ITEM_WEIGHTS,
        1.0,
        "Item-item user model (EASE, RP3beta or item-kNN): top-N per known user, fold-in else.",
    ),
}

KINDS: tuple[Kind, ...] = tuple(Kind)
# When two kinds contribute equally to an item, the earlier (more specific) one names it.
SOURCE_ORDER: tuple[Kind, ...] = (
    Kind.REVISIT,
    Kind.SESSION_KNN,
    Kind.IMPLICIT,
    Kind.ITEM_MODEL,
    Kind.SESSION_SEQ,
    Kind.COOC,
    Kind.CONTENT_SIM,
    Kind.POPULARITY,
)


def with_role(role: Role) -> tuple[Kind, ...]:
    """Kinds of one role, in SOURCE_ORDER (the order the blend consults them)."""
    return tuple(kind for kind in SOURCE_ORDER if INFO[kind].role is role)


(POPULARITY,) = with_role(Role.POPULARITY)
(FACTORS,) = with_role(Role.FACTORS)
(REVISIT,) = with_role(Role.REVISIT)
(SESSIONS,) = with_role(Role.SESSIONS)
(ITEM_WEIGHTS,) = with_role(Role.ITEM_WEIGHTS)
NEIGHBOR_KINDS = with_role(Role.NEIGHBORS)
DEFAULT_BLEND_WEIGHTS: Mapping[str, float] = {
    kind: INFO[kind].blend_weight for kind in SOURCE_ORDER
}
SIGNALS_DB_KINDS: tuple[Kind, ...] = tuple(k for k in KINDS if INFO[k].in_signals_db)
# Public kind name in GET /v1/similar -> the neighbour kind it reads.
SIMILAR_ALIASES: Mapping[str, Kind] = {
    alias: kind for kind in KINDS if (alias := INFO[kind].similar_alias) is not None
}

if set(SOURCE_ORDER) != set(KINDS) or set(INFO) != set(KINDS):  # not an assert: -O keeps it
    raise RuntimeError("kinds.kind: SOURCE_ORDER and INFO must name every Kind once")

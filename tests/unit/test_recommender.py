"""The blend the service answers with and the evaluation measures."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.loading import tables as loading
from recsys_algo.loading.model import build_model
from recsys_algo.serving.ranking import Codes, Ranked
from recsys_algo.serving.recommender import (
    NO_CODES,
    BlendParams,
    Query,
    ScopeModel,
    Scored,
    blend,
    blend_explained,
    seeds_of,
)
from tests.support.builders import neighbor_frame, popularity_frame

POP = ["p1", "p2", "p3", "p4", "p5", "p6"]
COOC = [("a", "c1", 0.9), ("a", "c2", 0.5), ("b", "c2", 0.8), ("b", "c3", 0.1)]
BUILT = build_model(
    {"popularity": popularity_frame(POP).to_arrow(), "cooc": neighbor_frame(COOC).to_arrow()}
)
VOCAB = BUILT.vocab


def ranked(scored: Scored) -> Ranked:
    return Ranked(VOCAB.codes_of(i for i, _ in scored), np.array([s for _, s in scored]))


class FakeCollab:
    """Answers in item ids of VOCAB, as a CollabIndex answers in codes."""

    def __init__(self, users: dict[str, Scored], folded: Scored) -> None:
        self.users, self.folded = users, folded
        self.user_rows = {user: row for row, user in enumerate(users)}
        self.fold_calls: list[list[str]] = []

    def known_user_top(self, user_id: str, n: int, exclude: Codes) -> Ranked | None:
        found = self.users.get(user_id)
        if found is None:
            return None
        found = [(i, s) for i, s in found if VOCAB.codes[i] not in exclude.tolist()]
        return ranked(found[:n])

    def fold_in(self, item_codes: Codes, n: int, exclude: Codes) -> Ranked:
        self.fold_calls.append([VOCAB.ids[c] for c in item_codes])
        return ranked([(i, s) for i, s in self.folded if VOCAB.codes[i] not in exclude][:n])


def model(collab: FakeCollab | None = None) -> ScopeModel:
    return ScopeModel(VOCAB, BUILT.popular_items, BUILT.neighbors, collab)


def named(found: Ranked) -> Scored:
    return BUILT.scored(found)


def test_neighbours_of_recent_items_are_summed_with_recency_weights() -> None:
    index = loading.neighbor_index(neighbor_frame(COOC).to_arrow(), VOCAB)
    seeds = seeds_of(["a", "b"], BlendParams(recency_decay=0.5))
    assert seeds == [("b", 1.0), ("a", 0.5)]
    coded = [(VOCAB.codes[i], w) for i, w in seeds]
    # c2: 0.8 * 1 + 0.5 * 0.5 = 1.05; c1: 0.9 * 0.5 = 0.45; c3: 0.1
    assert named(index.expand(coded, 10, NO_CODES)) == [("c2", 1.05), ("c1", 0.45), ("c3", 0.1)]
    assert named(index.expand(coded, 2, VOCAB.codes_of(["c2"]))) == [("c1", 0.45), ("c3", 0.1)]
    # One seed at full weight: the artifact's own order and scores.
    assert named(index.expand([(VOCAB.codes["a"], 1.0)], 5, NO_CODES)) == [("c1", 0.9), ("c2", 0.5)]


def test_neighbour_rows_not_grouped_by_item_are_refused() -> None:
    rows = [("b", "c2", 0.8), ("a", "c1", 0.9), ("b", "c3", 0.1)]
    table = pa.table(
        {
            "item_id": [r[0] for r in rows],
            "neighbor_id": [r[1] for r in rows],
            "score": [r[2] for r in rows],
        }
    )
    with pytest.raises(ArtifactError, match="acme/home cooc: neighbour rows are not grouped"):
        loading.neighbor_index(table, VOCAB, "acme/home cooc")


def test_seeds_are_the_latest_distinct_items() -> None:
    params = BlendParams(recent_items=2, recency_decay=0.5)
    assert seeds_of(["x", "y", "x", "x"], params) == [("x", 1.0), ("y", 0.5)]
    assert seeds_of([], params) == []


def test_popularity_only_model_serves_the_popularity_order() -> None:
    only = build_model({"popularity": popularity_frame(POP).to_arrow()})
    recs = only.recommend(Query(k=4), BlendParams())
    assert [r.item_id for r in recs] == POP[:4]
    assert {r.source for r in recs} == {"popularity"}
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_session_items_bring_in_cooc_neighbours_named_as_their_source() -> None:
    recs = model().recommend(Query(k=3, session_items=("a",)), BlendParams())
    assert recs[0].item_id == "c1"
    assert recs[0].source == "cooc"
    assert "popularity" in {r.source for r in recs}


def test_known_user_is_answered_by_lookup_and_unknown_by_fold_in() -> None:
    collab = FakeCollab({"u1": [("p6", 3.0), ("p5", 2.0)]}, folded=[("p4", 1.0)])
    known = model(collab).candidates(Query(k=2, user_id="u1"), BlendParams())
    assert named(known["implicit"]) == [("p6", 3.0), ("p5", 2.0)]
    assert collab.fold_calls == []
    folded = model(collab).candidates(
        Query(k=2, user_id="stranger", session_items=("a", "ghost", "b")), BlendParams()
    )
    assert named(folded["implicit"]) == [("p4", 1.0)]
    assert collab.fold_calls == [["a", "b"]]  # ids the version does not know are not sent
    assert named(model(collab).candidates(Query(k=2), BlendParams())["implicit"]) == []


def test_excluded_items_never_come_back_from_any_kind() -> None:
    collab = FakeCollab({"u1": [("p1", 3.0), ("c1", 2.0)]}, folded=[])
    query = Query(k=5, user_id="u1", session_items=("a",), exclude=frozenset({"p1", "c1"}))
    found = model(collab).candidates(query, BlendParams())
    for kind in found.values():
        assert not {"p1", "c1"} & {i for i, _ in named(kind)}
    assert len(model(collab).recommend(query, BlendParams())) == 5


def test_blend_is_weighted_reciprocal_rank_fusion() -> None:
    params = BlendParams(weights={"popularity": 1.0, "cooc": 2.0}, rank_offset=1.0)
    recs = blend({"popularity": [("x", 9.0), ("y", 1.0)], "cooc": [("y", 0.1)]}, 5, params)
    # y: 1/(1+2) + 2/(1+1) = 1.333; x: 1/(1+1) = 0.5
    assert [(r.item_id, round(r.score, 4), r.source) for r in recs] == [
        ("y", 1.3333, "cooc"),
        ("x", 0.5, "popularity"),
    ]


def test_zero_weight_kind_contributes_nothing() -> None:
    params = BlendParams(weights={"popularity": 1.0, "cooc": 0.0})
    recs = blend({"popularity": [("x", 1.0)], "cooc": [("y", 1.0)]}, 5, params)
    assert [r.item_id for r in recs] == ["x"]


ids = st.text(alphabet="abcdef", min_size=1, max_size=3)


@given(
    st.dictionaries(
        st.sampled_from(["popularity", "cooc", "implicit", "session_seq", "content_sim"]),
        st.lists(ids, unique=True, max_size=12),
    ),
    st.integers(1, 20),
)
def test_blend_is_sorted_bounded_unique_and_deterministic(
    ranked: dict[str, list[str]], k: int
) -> None:
    candidates = {kind: [(i, 1.0) for i in items] for kind, items in ranked.items()}
    first = blend(candidates, k, BlendParams())
    assert first == blend(dict(reversed(candidates.items())), k, BlendParams())
    assert len(first) <= k
    assert len({r.item_id for r in first}) == len(first)
    assert all(a.score >= b.score for a, b in itertools.pairwise(first))
    for r in first:
        assert r.item_id in {i for i, _ in candidates[r.source]}


def test_popularity_index_overfetches_past_exclusions() -> None:
    index = loading.popularity_index(popularity_frame(POP).to_arrow(), VOCAB)
    assert named(index.top(2, VOCAB.codes_of(["p1", "p2"]))) == [("p3", 4.0), ("p4", 3.0)]


@pytest.mark.parametrize(
    ("knobs", "needle"),
    [
        ({"weights": {"nope": 1.0, "popularity": 1.0}}, "unknown kinds: nope"),
        ({"weights": {"popularity": 0.0}}, "popularity must be > 0"),
        ({"weights": {"popularity": float("nan")}}, "finite"),
        ({"rank_offset": 0}, "rank_offset"),
        ({"rank_offset": 1e7}, "rank_offset must be in"),
        ({"recent_items": 0}, "recent_items"),
        ({"recency_decay": 1.5}, "recency_decay"),
        ({"candidates": 0}, "candidates"),
    ],
)
def test_bad_blend_parameters_are_config_errors(knobs: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        BlendParams(**knobs)  # type: ignore[arg-type]


def test_blend_parameters_roundtrip_through_the_manifest_lineage() -> None:
    params = BlendParams(weights={"popularity": 0.5, "cooc": 1.0}, recent_items=3)
    assert BlendParams.from_lineage({"blend": params.as_dict()}, "here") == params
    assert BlendParams.from_lineage({}, "here") == BlendParams()
    with pytest.raises(ArtifactError, match="here: manifest blend parameters are invalid"):
        BlendParams.from_lineage({"blend": {"bogus": 1}}, "here")


def test_model_without_popularity_is_refused() -> None:
    with pytest.raises(ArtifactError, match="no popularity artifact"):
        build_model({"cooc": neighbor_frame(COOC).to_arrow()}, where="acme/home v1")


def test_blend_explained_gives_each_kinds_reciprocal_rank_term() -> None:
    params = BlendParams(weights={"popularity": 1.0, "cooc": 2.0}, rank_offset=1.0)
    explained = blend_explained(
        {"popularity": [("x", 9.0), ("y", 1.0)], "cooc": [("y", 0.1)]}, 5, params
    )
    assert [(e.recommendation.item_id, e.contributions) for e in explained] == [
        ("y", {"cooc": 1.0, "popularity": 1 / 3}),
        ("x", {"popularity": 0.5}),
    ]


@given(
    st.dictionaries(
        st.sampled_from(["popularity", "cooc", "implicit", "session_seq", "content_sim"]),
        st.lists(ids, unique=True, max_size=12),
    ),
    st.integers(1, 20),
)
def test_blend_explained_matches_blend_and_terms_sum_to_the_score(
    ranked: dict[str, list[str]], k: int
) -> None:
    candidates = {kind: [(i, 1.0) for i in items] for kind, items in ranked.items()}
    explained = blend_explained(candidates, k, BlendParams())
    assert [e.recommendation for e in explained] == blend(candidates, k, BlendParams())
    for e in explained:
        assert sum(e.contributions.values()) == e.recommendation.score
        assert e.recommendation.source in e.contributions
        assert all(part > 0 for part in e.contributions.values())

"""similar_items: one neighbour list per kind, or their reciprocal-rank blend, never the seed."""

from __future__ import annotations

import polars as pl
import pytest

from recsys_algo.loading.model import build_model
from recsys_algo.serving.recommender import BlendParams, ScopeModel
from recsys_algo.serving.similar import ItemNotFound, KindNotAvailable, similar_items
from tests.support.builders import neighbor_frame

COOC = [("a", "b", 0.9), ("a", "c", 0.5), ("a", "d", 0.1), ("b", "a", 0.9)]
CONTENT = [("a", "c", 0.8), ("a", "e", 0.7), ("z", "a", 0.2)]


def _model(**kinds: list[tuple[str, str, float]]) -> ScopeModel:
    pop = pl.DataFrame({"item_id": ["a", "b"], "score": [2.0, 1.0], "events": [2, 1]})
    tables = {"popularity": pop.to_arrow()} | {
        k: neighbor_frame(v).to_arrow() for k, v in kinds.items()
    }
    return build_model(tables)


def test_single_kind_is_the_items_neighbour_list_with_raw_scores() -> None:
    found = similar_items(_model(cooc=COOC), "a", "cooc", 2, frozenset(), BlendParams())
    assert [(r.item_id, r.score, r.source) for r in found] == [
        ("b", 0.9, "cooc"),
        ("c", 0.5, "cooc"),
    ]


def test_content_kind_reads_content_sim_and_exclusions_keep_k() -> None:
    model = _model(cooc=COOC, content_sim=CONTENT)
    found = similar_items(model, "a", "content", 1, frozenset({"c"}), BlendParams())
    assert [(r.item_id, r.source) for r in found] == [("e", "content_sim")]


def test_blend_fuses_neighbour_kinds_by_weighted_reciprocal_rank() -> None:
    params = BlendParams(weights={"popularity": 1.0, "cooc": 1.0, "content_sim": 1.0})
    found = similar_items(
        _model(cooc=COOC, content_sim=CONTENT), "a", "blend", 10, frozenset(), params
    )
    # c: 1/12 (cooc rank 2) + 1/11 (content rank 1) beats b: 1/11 alone.
    assert [r.item_id for r in found] == ["c", "b", "e", "d"]
    assert found[0].score == pytest.approx(1 / 12 + 1 / 11)
    assert "a" not in {r.item_id for r in found}


def test_blend_never_fills_with_popularity() -> None:
    found = similar_items(_model(cooc=COOC), "b", "blend", 10, frozenset(), BlendParams())
    assert [(r.item_id, r.source) for r in found] == [("a", "cooc")]


def test_item_without_neighbours_in_the_kind_is_item_not_found() -> None:
    model = _model(cooc=COOC, content_sim=CONTENT)
    with pytest.raises(ItemNotFound, match="'z' has no cooc neighbours"):
        similar_items(model, "z", "cooc", 5, frozenset(), BlendParams())
    # z has content neighbours, so the blend knows it.
    assert [r.item_id for r in similar_items(model, "z", "blend", 5, frozenset(), BlendParams())]


@pytest.mark.parametrize("kind", ["session", "nope"])
def test_kind_the_manifest_lacks_is_kind_not_available(kind: str) -> None:
    with pytest.raises(KindNotAvailable, match=kind):
        similar_items(_model(cooc=COOC), "a", kind, 5, frozenset(), BlendParams())


def test_blend_without_any_neighbour_artifact_is_kind_not_available() -> None:
    with pytest.raises(KindNotAvailable, match="blend"):
        similar_items(_model(), "a", "blend", 5, frozenset(), BlendParams())

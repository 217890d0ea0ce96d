"""content_sim: known answers, exactness against brute force, properties, checks, scale."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.catalog import CATALOG_SCHEMA
from recsys_algo.contracts.errors import ArtifactError, ConfigError, ValidationGateError
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.content_sim.features import build_groups
from recsys_algo.kinds.content_sim.similarity import (
    SCHEMA_VERSION,
    ContentSimParams,
    check_content_sim,
    compute_content_sim,
)
from recsys_algo.sources.synthetic.generator import generate_catalog


def catalog(rows: list[tuple[str, list[str], str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "tags": [r[1] for r in rows],
            "title": [r[2] for r in rows],
            "surface": [None] * len(rows),
        },
        schema=CATALOG_SCHEMA,
    )


def brute_force(frame: pl.DataFrame, params: ContentSimParams) -> pl.DataFrame:
    """Score every pair from unpruned group matrices, rank by (score desc, id asc).

    A top_n beyond the catalog size switches the per-row pruning off, so this also checks
    that pruning never drops a pair that belongs in a list.
    """
    frame = frame.sort("item_id")
    groups = build_groups(
        [t or [] for t in frame["tags"].to_list()],
        [t or "" for t in frame["title"].to_list()],
        title_weight=params.title_weight,
        stop_words=params.title_stop_words,
        max_features=params.max_features,
        top_n=10_000,
        max_pairs=params.max_pairs,
    )
    n = frame.height
    i, j = (m.ravel() for m in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    score = groups.p.lookup(groups.a[i], groups.a[j]) + groups.q.lookup(groups.b[i], groups.b[j])
    ids = frame["item_id"].to_numpy()
    return (
        pl.DataFrame(
            {"item_id": ids[i], "neighbor_id": ids[j], "score": np.minimum(score, 1.0)},
            schema={"item_id": pl.String(), "neighbor_id": pl.String(), "score": pl.Float64()},
        )
        .filter(pl.col("item_id") != pl.col("neighbor_id"), pl.col("score") >= params.min_score)
        .sort(["item_id", "score", "neighbor_id"], descending=[False, True, False])
        .group_by("item_id", maintain_order=True)
        .head(params.top_n)
    )


def test_identical_items_score_one_and_unrelated_items_are_absent() -> None:
    frame = catalog(
        [
            ("a", ["x", "y"], "Red Fox"),
            ("b", ["x", "y"], "Red Fox"),
            ("c", ["z"], "Blue Whale"),
        ]
    )
    out = compute_content_sim(frame, ContentSimParams())
    assert out.select("item_id", "neighbor_id").rows() == [("a", "b"), ("b", "a")]
    assert out["score"].to_list() == [1.0, 1.0]
    assert out["support"].to_list() == [2, 2]


def test_tag_only_cosine_matches_hand_computation() -> None:
    # Tags are binary TF-IDF; "x" is in all three items, "y" and "z" in one each.
    frame = catalog([("a", ["x", "y"], None), ("b", ["x"], None), ("c", ["x", "z"], None)])
    idf = {t: math.log(4 / (1 + df)) + 1 for t, df in {"x": 3, "y": 1, "z": 1}.items()}
    a = np.array([idf["x"], idf["y"], 0.0])
    b = np.array([idf["x"], 0.0, 0.0])
    expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    out = compute_content_sim(frame, ContentSimParams(min_score=0.01))
    row = out.filter(pl.col("item_id") == "a", pl.col("neighbor_id") == "b")
    assert row["score"].item() == pytest.approx(expected, rel=1e-12)
    assert row["support"].item() == 1


def test_title_weight_scales_the_title_block() -> None:
    # Same tags, titles share one of two words: score = (1 + w^2 * cos_title) / (1 + w^2).
    frame = catalog([("a", ["t"], "alpha beta"), ("b", ["t"], "alpha gamma")])
    out = compute_content_sim(frame, ContentSimParams(title_weight=0.5))
    idf_shared, idf_own = 1.0, math.log(3 / 2) + 1
    cos_title = idf_shared**2 / (idf_shared**2 + idf_own**2)
    assert out["score"][0] == pytest.approx((1 + 0.25 * cos_title) / 1.25, rel=1e-12)
    zero = compute_content_sim(frame, ContentSimParams(title_weight=0.0))
    assert zero["score"].to_list() == [1.0, 1.0]


def test_cold_items_without_interactions_get_neighbours() -> None:
    # content_sim reads only the catalog, so every item with content is covered.
    frame = catalog([(f"i{n}", ["g", f"d{n % 3}"], f"Title {n % 4}") for n in range(30)])
    out = compute_content_sim(frame, ContentSimParams(top_n=5))
    assert set(out["item_id"]) == set(frame["item_id"])
    assert out.group_by("item_id").len()["len"].max() == 5


def test_items_without_tags_or_title_get_no_neighbours() -> None:
    frame = catalog([("a", [], None), ("b", ["x"], None), ("c", ["x"], None)])
    out = compute_content_sim(frame, ContentSimParams())
    assert "a" not in set(out["item_id"]) | set(out["neighbor_id"])


def test_empty_and_single_item_catalogs_give_empty_frames() -> None:
    assert compute_content_sim(catalog([]), ContentSimParams()).height == 0
    assert compute_content_sim(catalog([("a", ["x"], "t")]), ContentSimParams()).height == 0


def test_ties_are_broken_by_neighbor_id() -> None:
    frame = catalog([(f"i{n:02d}", ["same"], None) for n in range(10)])
    out = compute_content_sim(frame, ContentSimParams(top_n=3))
    assert out.filter(pl.col("item_id") == "i05")["neighbor_id"].to_list() == ["i00", "i01", "i02"]
    assert out.filter(pl.col("item_id") == "i00")["neighbor_id"].to_list() == ["i01", "i02", "i03"]


def test_synthetic_catalog_matches_brute_force_exactly() -> None:
    rows = generate_catalog(7, n_items=600, n_clusters=5)
    frame = pl.DataFrame([{**r, "surface": None} for r in rows], schema=CATALOG_SCHEMA)
    params = ContentSimParams(top_n=20)
    out = compute_content_sim(frame, params).drop("support")
    assert out.equals(brute_force(frame, params))


tag = st.sampled_from(["a", "b", "c", "d", "e", "f"])
word = st.sampled_from(["red", "fox", "blue", "sea", "the", "old"])
item = st.tuples(
    st.lists(tag, max_size=4), st.one_of(st.none(), st.lists(word, max_size=3).map(" ".join))
)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(item, max_size=40),
    st.integers(1, 6),
    st.sampled_from([0.01, 0.05, 0.3]),
    st.sampled_from([0.0, 0.5, 2.0]),
)
def test_search_equals_brute_force_and_keeps_the_artifact_contract(
    items: list[tuple[list[str], str | None]], top_n: int, min_score: float, title_weight: float
) -> None:
    # Ids are given out of order so the sort-by-id step is exercised too.
    frame = catalog([(f"id{(n * 7) % 41:02d}", t, w) for n, (t, w) in enumerate(items)])
    params = ContentSimParams(top_n=top_n, min_score=min_score, title_weight=title_weight)
    out = compute_content_sim(frame, params)
    assert out.drop("support").equals(brute_force(frame, params))
    if out.height:
        check_content_sim(out.to_arrow(), "test")
        assert out.group_by("item_id").len()["len"].max() <= top_n


def test_same_catalog_in_any_row_order_gives_identical_artifact_bytes() -> None:
    rows = generate_catalog(3, n_items=400, n_clusters=4)
    frame = pl.DataFrame([{**r, "surface": None} for r in rows], schema=CATALOG_SCHEMA)
    params = ContentSimParams()
    first = encode_artifact(compute_content_sim(frame, params), "content_sim", SCHEMA_VERSION)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    second = encode_artifact(compute_content_sim(shuffled, params), "content_sim", SCHEMA_VERSION)
    assert first.data == second.data


def test_scores_agree_with_sklearn_cosine_on_the_full_vectors() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    rows = generate_catalog(5, n_items=200, n_clusters=4)
    frame = pl.DataFrame([{**r, "surface": None} for r in rows], schema=CATALOG_SCHEMA)
    frame = frame.sort("item_id")
    tags = TfidfVectorizer(analyzer=lambda t: sorted(set(t)), binary=True)
    titles = TfidfVectorizer(stop_words="english")
    tx = tags.fit_transform(frame["tags"].to_list()).toarray()
    wx = titles.fit_transform(frame["title"].to_list()).toarray()
    x = np.hstack([tx, 0.5 * wx])
    sim = cosine_similarity(x)
    index = {item: n for n, item in enumerate(frame["item_id"])}
    out = compute_content_sim(frame, ContentSimParams())
    expected = sim[[index[i] for i in out["item_id"]], [index[j] for j in out["neighbor_id"]]]
    assert np.allclose(out["score"].to_numpy(), np.minimum(expected, 1.0), atol=1e-12)


def test_params_are_validated() -> None:
    with pytest.raises(ConfigError, match="top_n"):
        ContentSimParams(top_n=0)
    with pytest.raises(ConfigError, match="min_score"):
        ContentSimParams(min_score=0.0)
    with pytest.raises(ConfigError, match="title_weight"):
        ContentSimParams(title_weight=-1.0)
    with pytest.raises(ConfigError, match="max_items"):
        ContentSimParams(max_items=0)
    with pytest.raises(ConfigError, match="max_pairs"):
        ContentSimParams(max_pairs=0)


def test_max_items_guardrail_names_limit_and_value() -> None:
    frame = catalog([("a", ["x"], None), ("b", ["x"], None), ("c", ["x"], None)])
    with pytest.raises(ValidationGateError, match="3 items, exceeds max_items 2"):
        compute_content_sim(frame, ContentSimParams(max_items=2))


def test_max_pairs_guardrail_names_limit() -> None:
    frame = catalog([(f"i{n}", ["x", f"y{n}"], None) for n in range(5)])
    with pytest.raises(ValidationGateError, match="more than max_pairs 3 pairs"):
        compute_content_sim(frame, ContentSimParams(max_pairs=3))


def test_repeated_or_null_item_ids_are_rejected() -> None:
    with pytest.raises(ValidationGateError, match="repeats an item_id"):
        compute_content_sim(catalog([("a", ["x"], None), ("a", ["x"], None)]), ContentSimParams())
    with pytest.raises(ValidationGateError, match="null item_id"):
        compute_content_sim(
            pl.DataFrame(
                {"item_id": [None], "tags": [["x"]], "title": [None], "surface": [None]},
                schema=CATALOG_SCHEMA,
            ),
            ContentSimParams(),
        )


def _table(rows: list[tuple[str, str, float, int]]) -> pa.Table:
    return pa.table(
        {
            "item_id": pa.array([r[0] for r in rows], pa.string()),
            "neighbor_id": pa.array([r[1] for r in rows], pa.string()),
            "score": pa.array([r[2] for r in rows], pa.float64()),
            "support": pa.array([r[3] for r in rows], pa.int64()),
        }
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "has no rows"),
        ([("a", "a", 0.5, 1)], "pairs an item with itself"),
        ([("a", "b", 0.0, 1)], "must be finite and > 0"),
        ([("a", "b", 1.5, 1)], r"must be in \(0, 1]"),
        ([("a", "b", float("nan"), 1)], "must be finite and > 0"),
        ([("a", "b", 0.5, 1), ("a", "b", 0.5, 1)], "repeats an"),
        ([("a", "b", 0.4, 1), ("a", "c", 0.5, 1)], "not sorted"),
        ([("b", "a", 0.5, 1), ("a", "b", 0.5, 1)], "not sorted"),
    ],
)
def test_check_rejects_bad_tables(rows: list[tuple[str, str, float, int]], message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        check_content_sim(_table(rows), "s3://b/content_sim.arrow")


def test_check_rejects_wrong_schema_and_too_many_rows() -> None:
    bad = _table([("a", "b", 0.5, 1)]).drop_columns(["support"])
    with pytest.raises(ArtifactError, match="schema"):
        check_content_sim(bad, "where")
    with pytest.raises(ArtifactError, match="2 rows, max is 1"):
        check_content_sim(_table([("a", "b", 0.5, 1), ("a", "c", 0.4, 1)]), "where", max_rows=1)


def test_50k_synthetic_items_give_a_valid_artifact() -> None:
    rows = generate_catalog(1, n_items=50_000)
    frame = pl.DataFrame([{**r, "surface": None} for r in rows], schema=CATALOG_SCHEMA)
    params = ContentSimParams()
    out = compute_content_sim(frame, params)  # timings: bench/pipeline.py
    check_content_sim(out.to_arrow(), "smoke")
    # Synthetic items share tags within their clusters: each one gets its full top_n.
    assert out.group_by("item_id").len()["len"].to_list() == [params.top_n] * 50_000


def test_the_same_catalog_again_is_not_recomputed_and_any_change_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A range computes content_sim day after day over one catalog: the second day reuses the
    first's result, while another tag, title or parameter computes afresh (and differs)."""
    from recsys_algo.kinds.content_sim import features, similarity

    calls: list[int] = []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return build_groups(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(features, "build_groups", counted)
    similarity.forget_content_sim()
    rows = [(r["item_id"], r["tags"], r["title"]) for r in generate_catalog(3, n_items=60)]
    first = compute_content_sim(catalog(rows), ContentSimParams())
    # The same content in another order and another frame: the kept result, a copy of it.
    again = compute_content_sim(catalog(rows[::-1]), ContentSimParams())
    assert len(calls) == 1 and again.equals(first) and again is not first
    similarity.forget_content_sim()
    assert compute_content_sim(catalog(rows), ContentSimParams()).equals(first)
    assert len(calls) == 2

    retagged = [(rows[0][0], ["a-tag-nobody-else-has"], rows[0][2]), *rows[1:]]
    changed = compute_content_sim(catalog(retagged), ContentSimParams())
    assert len(calls) == 3 and not changed.equals(first)
    retitled = [(rows[0][0], rows[0][1], "Zebra Quartz"), *rows[1:]]
    assert not compute_content_sim(catalog(retitled), ContentSimParams()).equals(first)
    fewer = compute_content_sim(catalog(rows), ContentSimParams(top_n=2))
    assert len(calls) == 5 and fewer.height < first.height

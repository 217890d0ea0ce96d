"""The array fusion and neighbour expansion agree exactly with scalar reference loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.loading import tables as loading
from recsys_algo.serving.ranking import SOURCE_ORDER, ItemVocab, Ranked, fuse
from recsys_algo.serving.recommender import BlendParams, blend_explained

Scored = list[tuple[str, float]]


def reference_fuse(
    candidates: dict[str, list[str]], k: int, weights: dict[str, float], offset: float
) -> list[tuple[str, float, str, dict[str, float]]]:
    """The blend as a scalar loop: terms added per item in SOURCE_ORDER, ties by item id."""
    totals: dict[str, float] = {}
    best: dict[str, tuple[float, int]] = {}
    terms: dict[str, dict[str, float]] = {}
    for order, kind in enumerate(SOURCE_ORDER):
        weight = weights.get(kind, 0.0)
        if weight <= 0:
            continue
        for rank, item in enumerate(candidates.get(kind, [])):
            part = weight / (offset + rank + 1)
            totals[item] = totals.get(item, 0.0) + part
            if part > best.get(item, (0.0, 0))[0]:
                best[item] = (part, order)
            terms.setdefault(item, {})[kind] = part
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
    return [(i, s, SOURCE_ORDER[best[i][1]], terms[i]) for i, s in ranked]


item_ids = st.text(alphabet="abcdé", min_size=1, max_size=3)
rankings = st.dictionaries(st.sampled_from(SOURCE_ORDER), st.lists(item_ids, unique=True))
# Equal weights make equal terms at equal ranks: the tie rule for the source is exercised.
weight = st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.5])


@given(
    rankings,
    st.integers(1, 30),
    st.lists(weight, min_size=len(SOURCE_ORDER), max_size=len(SOURCE_ORDER)),
    st.sampled_from([0.5, 1.0, 10.0]),
)
def test_fusion_matches_the_scalar_loop_bit_for_bit(
    candidates: dict[str, list[str]], k: int, raw_weights: list[float], offset: float
) -> None:
    weights = dict(zip(SOURCE_ORDER, raw_weights, strict=True))
    weights["popularity"] = weights["popularity"] or 0.3
    params = BlendParams(weights=weights, rank_offset=offset)
    scored = {kind: [(i, 1.0) for i in items] for kind, items in candidates.items()}
    got = [
        (e.recommendation.item_id, e.recommendation.score, e.recommendation.source,
         dict(e.contributions))
        for e in blend_explained(scored, k, params)
    ]  # fmt: skip
    assert got == reference_fuse(candidates, k, weights, offset)


def test_fusion_of_nothing_is_empty_and_k_bounds_one_kind() -> None:
    assert len(fuse({}, 5, {"popularity": 1.0}, 10.0)) == 0
    one = Ranked(np.array([4, 2, 9], np.int32), np.ones(3))
    fused = fuse({"cooc": one}, 2, {"cooc": 1.0}, 10.0)
    assert fused.codes.tolist() == [4, 2]
    assert fused.sources.tolist() == [SOURCE_ORDER.index("cooc")] * 2


def reference_expand(
    rows: list[tuple[str, str, float]], seeds: list[tuple[str, float]], n: int, exclude: set[str]
) -> Scored:
    totals: dict[str, float] = {}
    for seed, w in seeds:
        for item, neighbor, score in rows:
            if item == seed:
                totals[neighbor] = totals.get(neighbor, 0.0) + w * score
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    return [pair for pair in ranked if pair[0] not in exclude][:n]


@st.composite
def neighbour_rows(draw: st.DrawFn) -> list[tuple[str, str, float]]:
    pairs = draw(st.lists(st.tuples(item_ids, item_ids), unique=True, max_size=30))
    scores = st.sampled_from([0.1, 0.25, 0.5, 0.7, 1.0, 3.0])  # repeats: ties by neighbour id
    rows = [(a, b, draw(scores)) for a, b in pairs if a != b]
    return sorted(rows, key=lambda r: (r[0], -r[2], r[1]))  # the artifact's order


@given(
    neighbour_rows(),
    st.lists(st.tuples(item_ids, st.sampled_from([1.0, 0.7, 0.49, 0.343])), max_size=4),
    st.integers(1, 10),
    st.sets(item_ids, max_size=3),
)
def test_expansion_matches_the_scalar_loop_bit_for_bit(
    rows: list[tuple[str, str, float]],
    seeds: list[tuple[str, float]],
    n: int,
    exclude: set[str],
) -> None:
    table = pa.table(
        {
            "item_id": [r[0] for r in rows],
            "neighbor_id": [r[1] for r in rows],
            "score": pa.array([r[2] for r in rows], pa.float64()),
        }
    )
    vocab = ItemVocab.of([*[r[0] for r in rows], *[r[1] for r in rows], *exclude, "zz"])
    index = loading.neighbor_index(table, vocab)
    first: dict[str, float] = {}
    for seed, w in seeds:
        first.setdefault(seed, w)  # seeds are distinct items, as seeds_of gives them
    seeds = list(first.items())
    coded = [(vocab.codes[s], w) for s, w in seeds if s in vocab.codes]
    found = index.expand(coded, n, vocab.codes_of(exclude))
    got = [
        (vocab.ids[c], s) for c, s in zip(found.codes.tolist(), found.scores.tolist(), strict=True)
    ]
    known = [(s, w) for s, w in seeds if s in vocab.codes]
    assert got == reference_expand(rows, known, n, exclude)


def test_vocabulary_sorts_ids_by_code_point_and_drops_unknown_ids() -> None:
    vocab = loading.vocab_from_columns([pa.array(["b", "é", "a"]), pa.chunked_array([["b", "Z"]])])
    assert vocab.ids == sorted(["a", "b", "é", "Z"])
    assert vocab.codes_of(["é", "nope", "a"]).tolist() == [vocab.codes["é"], vocab.codes["a"]]
    with pytest.raises(ValueError, match="missing from the item vocabulary"):
        loading.encode(vocab, pa.array(["a", "nope"]))


def test_lists_longer_than_the_precomputed_ranks_fuse_whole() -> None:
    n = 25_000
    codes = np.arange(n, dtype=np.int32)
    one = fuse({"cooc": Ranked(codes, np.ones(n))}, n, {"cooc": 1.0}, 10.0)
    assert len(one.codes) == len(one.scores) == n
    two = fuse(
        {"cooc": Ranked(codes, np.ones(n)), "popularity": Ranked(codes[::-1].copy(), np.ones(n))},
        n, {"cooc": 1.0, "popularity": 0.5}, 10.0,
    )  # fmt: skip
    assert len(two.codes) == n and float(two.scores[-1]) > 0

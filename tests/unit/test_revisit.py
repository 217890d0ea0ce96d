"""The repeat model (kind `revisit`): learned by hand on tiny sessions, against a brute-force
count on random ones, checked, and served as a ranking of the session's own items."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ArtifactError, ConfigError
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.revisit import RevisitParams, check_revisit, compute_revisit
from recsys_algo.loading.model import build_model
from recsys_algo.serving.recommender import BlendParams, Query
from recsys_algo.serving.revisit_index import RevisitIndex
from tests.unit.session_events import END, sessions_frame, zipf_events

EXACT = {"max_recency": 3, "max_occurrences": 2, "smoothing": 0.0}


def grid(table: pl.DataFrame) -> dict[tuple[int, int], tuple[float, float]]:
    return {
        (r, c): (round(p, 6), round(n, 6))
        for r, c, p, n in table.select("recency", "occurrences", "probability", "cases").rows()
    }


def test_probabilities_of_two_sessions_by_hand() -> None:
    # Each session weighs 0.5. "a b a": b follows [a] (a: r0 c1, miss); a follows [a b]
    # (b: r0 c1, miss; a: r1 c1, hit). "a a b": a follows [a] (a: r0 c1, hit); b follows [a a]
    # (a: r0 c2, miss).
    table = compute_revisit(sessions_frame(["a b a", "a a b"]), END, RevisitParams(**EXACT))
    assert grid(table) == {
        (0, 1): (round(1 / 3, 6), 1.5),
        (0, 2): (0.0, 0.5),
        (1, 1): (1.0, 0.5),
        (1, 2): (0.0, 0.0),
        (2, 1): (0.0, 0.0),
        (2, 2): (0.0, 0.0),
    }


def test_smoothing_adds_pseudo_cases_to_every_denominator() -> None:
    table = compute_revisit(
        sessions_frame(["a b a", "a a b"]), END, RevisitParams(**{**EXACT, "smoothing": 0.5})
    )
    assert grid(table)[(1, 1)] == (0.5, 0.5)  # 0.5 / (0.5 + 0.5)
    assert grid(table)[(0, 1)] == (0.25, 1.5)  # 0.5 / (1.5 + 0.5)


def test_the_last_row_and_column_hold_everything_beyond_them() -> None:
    # "a b c d a": a comes back at recency 3, capped to the last row (2); "x x x x": x comes back
    # with 1, 2 and 3 occurrences, the last two capped to the last column (2).
    table = compute_revisit(sessions_frame(["a b c d a", "x x x x"]), END, RevisitParams(**EXACT))
    cells = grid(table)
    # Row 2 sees a at r2 (miss), b at r2 (miss) and a at r3 (the hit).
    assert cells[(2, 1)] == (round(1 / 3, 6), 1.5)
    assert cells[(0, 2)] == (1.0, 1.0)  # x with 2 and with 3 occurrences, both hits


def brute_force(sessions: list[list[str]], recency: int, occurrences: int) -> Counter[Any]:
    counts: Counter[Any] = Counter()
    for items in sessions:
        for t in range(1, len(items)):
            prefix = items[:t]
            latest: list[str] = []
            for item in reversed(prefix):
                if item not in latest:
                    latest.append(item)
            for r, item in enumerate(latest):
                cell = (min(r, recency - 1), min(prefix.count(item), occurrences))
                counts[("cases", cell)] += 1
                counts[("hits", cell)] += items[t] == item
    return counts


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("abcd"), min_size=1, max_size=12), min_size=1, max_size=8),
    st.integers(1, 5),
    st.integers(1, 4),
)
def test_counts_equal_a_brute_force_count(
    sessions: list[list[str]], recency: int, occurrences: int
) -> None:
    params = RevisitParams(max_recency=recency, max_occurrences=occurrences, smoothing=0.0)
    table = compute_revisit(sessions_frame([" ".join(s) for s in sessions]), END, params)
    expected = brute_force(sessions, recency, occurrences)
    for r, c, p, n in table.select("recency", "occurrences", "probability", "cases").rows():
        assert n == pytest.approx(0.5 * expected[("cases", (r, c))])
        cases = expected[("cases", (r, c))]
        assert p == pytest.approx(expected[("hits", (r, c))] / cases if cases else 0.0)


def test_same_events_in_any_order_encode_to_identical_bytes_and_pass_the_checks() -> None:
    events = zipf_events(20_000, 300, 500, seed=4)
    params = RevisitParams()
    first = encode_artifact(compute_revisit(events, END, params), "revisit", 1)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=9)
    assert encode_artifact(compute_revisit(shuffled, END, params), "revisit", 1).data == first.data
    table = compute_revisit(events, END, params)
    check_revisit(table.to_arrow(), "test")
    assert table.height == params.max_recency * params.max_occurrences


def test_no_sessions_give_a_full_grid_of_zeros_that_passes_the_checks() -> None:
    table = compute_revisit(sessions_frame(["a"]), END, RevisitParams(**EXACT))
    assert table.height == 6 and table["probability"].sum() == 0
    check_revisit(table.to_arrow(), "test")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_recency": 0}, "max_recency"),
        ({"max_recency": 201}, "max_recency"),
        ({"max_occurrences": 0}, "max_occurrences"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"smoothing": float("nan")}, "smoothing"),
        ({"gap_minutes": 0}, "gap_minutes"),
    ],
)
def test_bad_parameters_are_config_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RevisitParams(**change)


def corrupt(change: str) -> pa.Table:
    table = compute_revisit(sessions_frame(["a b a"]), END, RevisitParams(**EXACT))
    if change == "schema":
        return table.drop("cases").to_arrow()
    if change == "missing cell":
        return table.head(5).to_arrow()
    if change == "order":
        return table.reverse().to_arrow()
    if change == "probability":
        return table.with_columns(probability=pl.lit(1.5)).to_arrow()
    if change == "nan":
        return table.with_columns(cases=pl.lit(float("nan"))).to_arrow()
    return table.head(0).to_arrow()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("schema", "schema"),
        ("missing cell", "every"),
        ("order", "every"),
        ("probability", r"\[0, 1\]"),
        ("nan", "cases"),
        ("empty", "rows"),
    ],
)
def test_the_checks_reject_a_broken_artifact(change: str, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        check_revisit(corrupt(change), "v1")


INDEX = RevisitIndex(np.array([0.2, 0.4, 0.3, 0.0, 0.1, 0.1]), occurrences=2)


def ranked(session: list[int], exclude: list[int] = ()) -> list[tuple[int, float]]:  # type: ignore[assignment]
    found = INDEX.rank(np.array(session, np.int32), 10, np.array(exclude, np.int32))
    return list(zip(found.codes.tolist(), found.scores.tolist(), strict=True))


def test_the_index_ranks_session_items_by_recency_and_count_ties_to_the_more_recent() -> None:
    # 1 2 1 3: 3 is r0 c1 (0.2), 1 is r1 c2 (0.0: left out), 2 is r2 c1 (0.1).
    assert ranked([1, 2, 1, 3]) == [(3, 0.2), (2, 0.1)]
    # 5 4 4: 4 is r0 c2 (0.4), 5 r1 c1 (0.3).
    assert ranked([5, 4, 4]) == [(4, 0.4), (5, 0.3)]
    # 9 is r1 (0.3), 6 r0 (0.2); 8 and 7 share the capped row (0.1): the more recent first.
    assert ranked([7, 8, 9, 6]) == [(9, 0.3), (6, 0.2), (8, 0.1), (7, 0.1)]
    assert ranked([5, 4, 4], exclude=[4]) == [(5, 0.3)]
    assert ranked([]) == []


def test_an_unknown_item_still_counts_for_recency_but_is_never_returned() -> None:
    # -1 is an item the version does not know: 4 is at recency 1 behind it.
    assert ranked([4, -1]) == [(4, 0.3)]


def test_exclude_seen_leaves_no_repeat_and_without_it_the_session_comes_back() -> None:
    # The version's items are those its artifacts name: here popularity's.
    popularity = pl.DataFrame(
        {"item_id": ["p", "a", "b"], "score": [3.0, 2.0, 1.0], "events": [1] * 3}
    ).to_arrow()
    table = compute_revisit(sessions_frame(["a b a", "a a b", "b b"]), END, RevisitParams())
    model = build_model({"popularity": popularity, "revisit": table.to_arrow()})
    params = BlendParams()
    found = model.candidates(Query(k=5, session_items=("a", "b")), params)
    assert {model.vocab.ids[c] for c in found["revisit"].codes.tolist()} <= {"a", "b"}
    assert len(found["revisit"]) > 0
    seen = Query(k=5, session_items=("a", "b"), exclude=frozenset({"a", "b"}))
    assert len(model.candidates(seen, params)["revisit"]) == 0
    assert [r.item_id for r in model.recommend(seen, params)] == ["p"]
    back = model.recommend(Query(k=3, session_items=("a", "b")), params)
    assert {r.item_id for r in back} == {"p", "a", "b"}
    assert {r.source for r in back if r.item_id != "p"} == {"revisit"}

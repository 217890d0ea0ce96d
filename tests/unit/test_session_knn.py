"""Session neighbours (kind `session_knn`): the kept sessions, and the VSKNN search over them,
by hand on tiny inputs and against a plain Python VSKNN on random ones."""

from __future__ import annotations

import math
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
from recsys_algo.kinds.session_knn import (
    SessionKnnParams,
    check_session_knn,
    compute_session_knn,
)
from recsys_algo.serving.ranking import ItemVocab
from recsys_algo.serving.session_index import SessionIndex
from tests.unit.session_events import END, MINUTE_MS, ev, frame, ms_before_end, zipf_events


def sessions_at(sessions: list[tuple[str, float]]) -> pl.DataFrame:
    """("a b c", days before END of its last event) -> one user's clicks a minute apart."""
    rows = []
    for s, (items, days) in enumerate(sessions):
        names = items.split()
        end = ms_before_end(days)
        rows += [
            ev(f"u{s}", i, end - (len(names) - 1 - k) * MINUTE_MS) for k, i in enumerate(names)
        ]
    return frame(rows)


def test_sessions_are_kept_most_recent_first_with_distinct_items_and_their_decay() -> None:
    events = sessions_at([("a b a c", 28.0), ("d e", 14.0), ("f", 42.0), ("b c", 28.0)])
    table = compute_session_knn(events, END, SessionKnnParams(collapse_repeats=False))
    # Ties of recency go by session key (u0 before u3).
    assert table.rows() == [
        (["d", "e"], 0.5),
        (["a", "b", "c"], 0.25),
        (["b", "c"], 0.25),
        (["f"], 0.125),
    ]


def test_min_items_and_keep_sessions_bound_what_is_kept() -> None:
    events = sessions_at([("a b c", 1.0), ("d", 0.0), ("e f", 2.0), ("g h", 3.0)])
    kept = compute_session_knn(events, END, SessionKnnParams(min_items=2, keep_sessions=2))
    assert kept["items"].to_list() == [["a", "b", "c"], ["e", "f"]]


def test_same_events_in_any_order_encode_to_identical_bytes_and_pass_the_checks() -> None:
    events = zipf_events(20_000, 300, 500, seed=5, explicit_share=0.3)
    params = SessionKnnParams()
    table = compute_session_knn(events, END, params)
    first = encode_artifact(table, "session_knn", 1)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=3)
    again = encode_artifact(compute_session_knn(shuffled, END, params), "session_knn", 1)
    assert again.data == first.data
    check_session_knn(table.to_arrow(), "test")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keep_sessions": 0}, "keep_sessions"),
        ({"min_items": 0}, "min_items"),
        ({"neighbors": 0}, "neighbors"),
        ({"sample": 100_001}, "sample"),
        ({"recent_items": 0}, "recent_items"),
        ({"idf": "yes"}, "idf"),
    ],
)
def test_bad_parameters_are_config_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SessionKnnParams(**change)


def broken(change: str) -> pa.Table:
    table = pl.DataFrame({"items": [["a", "b"], ["c"]], "weight": [1.0, 0.5]})
    if change == "schema":
        return table.rename({"weight": "w"}).to_arrow()
    if change == "repeat":
        return table.with_columns(items=pl.Series([["a", "a"], ["c"]])).to_arrow()
    if change == "empty list":
        return table.with_columns(items=pl.Series([[], ["c"]], dtype=pl.List(pl.String))).to_arrow()
    if change == "weight":
        return table.with_columns(weight=pl.Series([1.5, 0.5])).to_arrow()
    if change == "null item":
        return table.with_columns(items=pl.Series([["a", None], ["c"]])).to_arrow()
    return table.head(0).to_arrow()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("schema", "schema"),
        ("repeat", "repeats an item"),
        ("empty list", "without items"),
        ("weight", r"\[0, 1\]"),
        ("null item", "null"),
        ("no rows", "rows"),
    ],
)
def test_the_checks_reject_a_broken_artifact(change: str, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        check_session_knn(broken(change), "v1")


VOCAB = ItemVocab.of("abcdefx")
SESSIONS = [["a", "b", "c"], ["a", "d"], ["b", "e"], ["f"]]  # row 0 is the most recent


def index(sessions: list[list[str]] = SESSIONS, **knobs: Any) -> SessionIndex:
    lengths = [len(s) for s in sessions]
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    codes = VOCAB.codes_of(i for s in sessions for i in s)
    search = {"neighbors": 100, "sample": 1000, "recent_items": 50, "idf": False, **knobs}
    return SessionIndex.build(offsets, codes, len(VOCAB), **search)


def ranked(found: SessionIndex, session: list[str], exclude: str = "") -> list[tuple[str, float]]:
    codes = np.array([VOCAB.codes.get(i, -1) for i in session], np.int32)
    result = found.rank(codes, 10, VOCAB.codes_of(exclude))
    return [(VOCAB.ids[c], round(s, 6)) for c, s in zip(result.codes, result.scores, strict=True)]


def test_neighbours_vote_by_similarity_by_hand() -> None:
    # Query a b: b weighs 1 (latest), a 1/2. Similarities: [a b c] 1.5, [b e] 1, [a d] 0.5.
    assert ranked(index(), ["a", "b"]) == [
        ("b", 2.5),
        ("a", 2.0),
        ("c", 1.5),
        ("e", 1.0),
        ("d", 0.5),
    ]
    # Two neighbours: [a d] does not vote.
    assert ranked(index(neighbors=2), ["a", "b"]) == [
        ("b", 2.5),
        ("a", 1.5),
        ("c", 1.5),
        ("e", 1.0),
    ]
    # One session per item compared: both items' most recent session is [a b c].
    assert ranked(index(sample=1), ["a", "b"]) == [("a", 1.5), ("b", 1.5), ("c", 1.5)]
    assert ranked(index(), ["a", "b"], exclude="ab") == [("c", 1.5), ("e", 1.0), ("d", 0.5)]


def test_idf_weighs_down_items_many_sessions_hold() -> None:
    found = ranked(index(idf=True), ["a"])
    # a is in 2 of 4 sessions, b, c, d in 2, 1, 1: idf = log(4 / df) + 1; both a-sessions vote 1.
    expected = {
        "a": 2 * (math.log(2) + 1),
        "b": math.log(2) + 1,
        "c": math.log(4) + 1,
        "d": math.log(4) + 1,
    }
    assert dict(found) == {k: round(v, 6) for k, v in expected.items()}


def test_unknown_and_recent_limit_shape_the_query_weights() -> None:
    # x is unknown to the index but counts: b is latest (1), x 2/3, a 1/3. Similarities:
    # [a b c] 4/3, [b e] 1, [a d] 1/3; b gets 4/3 + 1, a 4/3 + 1/3.
    assert ranked(index(), ["a", "x", "b"])[:2] == [
        ("b", round(1 + 1 + 1 / 3, 6)),
        ("a", round(5 / 3, 6)),
    ]
    # recent_items 1: only b asks.
    assert ranked(index(recent_items=1), ["a", "b"]) == [
        ("b", 2.0),
        ("a", 1.0),
        ("c", 1.0),
        ("e", 1.0),
    ]
    assert ranked(index(), []) == []
    assert ranked(index(), ["x"]) == []


def vsknn(sessions: list[list[str]], query: list[str], neighbors: int) -> dict[str, float]:
    latest: list[str] = []
    for item in reversed(query):
        if item not in latest:
            latest.append(item)
    weight = {item: (len(latest) - r) / len(latest) for r, item in enumerate(latest)}
    sims = [(sum(weight.get(i, 0.0) for i in s), -row) for row, s in enumerate(sessions)]
    chosen = sorted((x for x in sims if x[0] > 0), reverse=True)[:neighbors]
    votes: Counter[str] = Counter()
    for sim, row in chosen:
        for item in sessions[-row]:
            votes[item] += sim
    return dict(votes)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True), min_size=1),
    st.lists(st.sampled_from("abcdefx"), min_size=1, max_size=6),
    st.integers(1, 5),
)
def test_the_search_equals_a_plain_vsknn(
    sessions: list[list[str]], query: list[str], neighbors: int
) -> None:
    found = dict(ranked(index(sessions, neighbors=neighbors), query))
    expected = vsknn(sessions, query, neighbors)
    top = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert found == {k: round(v, 6) for k, v in top}

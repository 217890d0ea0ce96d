from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.kinds.artifacts import encode_artifact
from recsys_algo.kinds.session_seq import (
    SCHEMA_VERSION,
    SessionSeqParams,
    check_session_seq,
    compute_session_seq,
)
from tests.unit.session_events import (
    END,
    MINUTE_MS,
    ev,
    frame,
    ms_before_end,
    sessions_frame,
    zipf_events,
)

# Every session ends 14 days before END, so each weighs 0.5.
THREE = ["a b c d", "a c", "b a"]


def rows(table: object) -> list[tuple[str, str, float, int]]:
    return [(r[0], r[1], round(r[2], 6), r[3]) for r in table.iter_rows()]  # type: ignore[attr-defined]


def test_successors_of_three_sessions_by_hand() -> None:
    table = compute_session_seq(sessions_frame(THREE), END, SessionSeqParams())
    assert rows(table) == [
        ("a", "c", 0.75, 2),  # 0.5 * (1/2 + 1)
        ("a", "b", 0.5, 1),
        ("a", "d", round(0.5 / 3, 6), 1),
        ("b", "a", 0.5, 1),  # ties with c; a wins by id
        ("b", "c", 0.5, 1),
        ("b", "d", 0.25, 1),
        ("c", "d", 0.5, 1),
    ]


def test_max_distance_one_keeps_only_direct_successors() -> None:
    table = compute_session_seq(sessions_frame(THREE), END, SessionSeqParams(max_distance=1))
    assert [(a, b) for a, b, *_ in rows(table)] == [
        ("a", "b"),
        ("a", "c"),
        ("b", "a"),
        ("b", "c"),
        ("c", "d"),
    ]


def test_min_support_counts_sessions_not_occurrences() -> None:
    events = sessions_frame(["a b a b", "a c", "x c", "x c"])
    table = compute_session_seq(events, END, SessionSeqParams(min_support=2))
    assert rows(table) == [("x", "c", 1.0, 2)]
    every = compute_session_seq(events, END, SessionSeqParams())
    # a b a b: a->b at distances 1, 1 and 3; a->a and b->b are never pairs.
    assert rows(every)[0] == ("a", "b", round(0.5 * (1 + 1 + 1 / 3), 6), 1)
    assert ("a", "a") not in [(a, b) for a, b, *_ in rows(every)]


def test_collapsed_repeats_do_not_count_as_distance() -> None:
    table = compute_session_seq(sessions_frame(["a a a b"]), END, SessionSeqParams(max_distance=1))
    assert rows(table) == [("a", "b", 0.5, 1)]


def test_top_n_cuts_by_score() -> None:
    events = sessions_frame(["a z", "a z", "a b"])
    table = compute_session_seq(events, END, SessionSeqParams(top_n=1))
    assert rows(table) == [("a", "z", 1.0, 2)]


def test_bad_max_distance_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_distance must be in 1\.\.50, got 0"):
        SessionSeqParams(max_distance=0)


def test_guardrails_name_session_seq() -> None:
    with pytest.raises(ValidationGateError, match="session_seq: 3 sessions exceeds max_sessions 2"):
        compute_session_seq(sessions_frame(THREE), END, SessionSeqParams(max_sessions=2))


def test_no_pairs_give_an_empty_table() -> None:
    assert compute_session_seq(sessions_frame(["a", "b"]), END, SessionSeqParams()).height == 0
    assert compute_session_seq(frame([]), END, SessionSeqParams()).height == 0


def test_same_events_in_any_row_order_encode_to_identical_bytes() -> None:
    events = zipf_events(20_000, 500, 800, seed=6, explicit_share=0.2)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=12)
    params = SessionSeqParams(top_n=5)
    first = encode_artifact(compute_session_seq(events, END, params), "session_seq", SCHEMA_VERSION)
    assert first.rows > 500
    again = encode_artifact(compute_session_seq(events, END, params), "session_seq", SCHEMA_VERSION)
    moved = encode_artifact(
        compute_session_seq(shuffled, END, params), "session_seq", SCHEMA_VERSION
    )
    assert first.data == again.data == moved.data


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("uvw"), st.sampled_from("abcdef"), st.integers(0, 300)),
        max_size=40,
    ),
    st.integers(1, 3),
    st.integers(1, 4),
)
def test_any_events_give_a_table_that_passes_the_checks(
    picks: list[tuple[str, str, int]], top_n: int, max_distance: int
) -> None:
    events = frame([ev(u, i, ms_before_end(2) + m * MINUTE_MS) for u, i, m in picks])
    params = SessionSeqParams(top_n=top_n, max_distance=max_distance)
    table = compute_session_seq(events, END, params)
    if table.height:
        check_session_seq(table.to_arrow(), "prop")
    assert (table.group_by("item_id").len()["len"].max() or 0) <= top_n

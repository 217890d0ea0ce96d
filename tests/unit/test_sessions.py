from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from recsys_algo.contracts.errors import ConfigError, ValidationGateError
from recsys_algo.kinds.sessions import (
    SESSION_SCHEMA,
    SessionKindParams,
    encode_sessions,
    prepare_sessions,
    sessionize,
    stable_order,
)
from tests.unit.session_events import END, MINUTE_MS, ev, frame, ms_before_end, zipf_events

T0 = ms_before_end(1)


def items_by_session(frame_: pl.DataFrame) -> list[list[str]]:
    grouped = frame_.group_by("session_key", maintain_order=True).agg("item_id")
    return [list(items) for items in grouped["item_id"]]


def test_gap_of_exactly_gap_minutes_stays_in_the_session_and_one_ms_more_splits() -> None:
    events = frame(
        [
            ev("u", "a", T0),
            ev("u", "b", T0 + 30 * MINUTE_MS),
            ev("u", "c", T0 + 60 * MINUTE_MS + 1),
        ]
    )
    result = sessionize(events)
    assert result.sessions == 2
    assert items_by_session(result.frame) == [["a", "b"], ["c"]]
    assert result.frame["position"].to_list() == [0, 1, 0]
    assert result.frame.schema == pl.Schema(SESSION_SCHEMA)


def test_explicit_session_id_ignores_gaps_and_is_keyed_per_user() -> None:
    events = frame(
        [
            ev("u1", "a", T0, session="s"),
            ev("u1", "b", T0 + 600 * MINUTE_MS, session="s"),
            ev("u2", "c", T0, session="s"),
            ev(None, "d", T0, session="s"),
            ev(None, "e", T0 + MINUTE_MS, session="s"),
        ]
    )
    result = sessionize(events)
    assert result.sessions == 3
    assert items_by_session(result.frame) == [["d", "e"], ["a", "b"], ["c"]]
    assert result.frame["session_key"].unique(maintain_order=True).to_list() == [
        "a|s",
        "s2:u1|s",
        "s2:u2|s",
    ]


def test_events_with_neither_user_nor_session_are_dropped_and_counted() -> None:
    events = frame([ev(None, "a", T0), ev("u", "b", T0)])
    result = sessionize(events)
    assert result.dropped_events == 1
    assert result.frame["item_id"].to_list() == ["b"]


def test_consecutive_repeats_collapse_but_returns_to_an_item_do_not() -> None:
    events = frame([ev("u", i, T0 + k * MINUTE_MS) for k, i in enumerate("aabbba")])
    result = sessionize(events)
    assert result.frame["item_id"].to_list() == ["a", "b", "a"]
    assert result.frame["position"].to_list() == [0, 1, 2]


def test_repeats_are_kept_as_positions_when_not_collapsed() -> None:
    events = frame([ev("u", i, T0 + k * MINUTE_MS) for k, i in enumerate("aabbba")])
    result = sessionize(events, collapse_repeats=False)
    assert result.frame["item_id"].to_list() == list("aabbba")
    assert result.frame["position"].to_list() == [0, 1, 2, 3, 4, 5]


def test_long_sessions_keep_their_last_positions_and_are_counted() -> None:
    events = frame(
        [ev("u", i, T0 + k * MINUTE_MS) for k, i in enumerate("abcde")]
        + [ev("v", i, T0 + k * MINUTE_MS) for k, i in enumerate("xy")]
    )
    result = sessionize(events, max_session_length=3)
    assert result.capped == 1
    assert items_by_session(result.frame) == [["c", "d", "e"], ["x", "y"]]
    assert result.frame["position"].to_list() == [0, 1, 2, 0, 1]


def test_tied_timestamps_are_ordered_by_item_id_not_by_event_id_or_input_order() -> None:
    events = frame([ev("u", "c", T0), ev("u", "a", T0), ev("u", "b", T0)])
    assert sessionize(events).frame["item_id"].to_list() == ["a", "b", "c"]


def test_only_chosen_event_types_make_items_and_gaps() -> None:
    events = frame(
        [
            ev("u", "a", T0),
            ev("u", "x", T0 + 20 * MINUTE_MS, event_type="exposure"),
            ev("u", "b", T0 + 40 * MINUTE_MS),
        ]
    )
    result = sessionize(events, event_types=["click"])
    assert items_by_session(result.frame) == [["a"], ["b"]]
    assert sessionize(events).sessions == 1


def test_until_excludes_events_at_or_after_it() -> None:
    events = frame([ev("u", "a", ms_before_end(0.5)), ev("u", "b", ms_before_end(0))])
    assert sessionize(events, until=END).frame["item_id"].to_list() == ["a"]


def test_shuffled_input_gives_an_identical_frame() -> None:
    events = zipf_events(5_000, 200, 300, seed=3, explicit_share=0.3)
    first = sessionize(events, max_session_length=4)
    again = sessionize(events.sample(fraction=1.0, shuffle=True, seed=9), max_session_length=4)
    assert first.frame.equals(again.frame)
    assert (first.sessions, first.capped) == (again.sessions, again.capped)
    assert first.capped > 0


def test_empty_input_gives_an_empty_frame_with_the_schema() -> None:
    result = sessionize(frame([]))
    assert result.frame.schema == pl.Schema(SESSION_SCHEMA)
    assert (result.sessions, result.capped, result.dropped_events) == (0, 0, 0)


def test_session_decay_halves_per_half_life_of_its_last_event() -> None:
    events = frame(
        [
            ev("u", "a", ms_before_end(20)),
            ev("u", "b", ms_before_end(14)),
            ev("v", "c", ms_before_end(28)),
        ]
    )
    result = sessionize(events, gap_minutes=10 * 24 * 60)
    encoded = encode_sessions(result.frame, END, 14.0)
    assert encoded.item_ids.to_list() == ["a", "b", "c"]
    assert encoded.weight.tolist() == pytest.approx([0.5, 0.25])
    assert encoded.session.tolist() == [0, 0, 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gap_minutes": 0}, "gap_minutes"),
        ({"max_session_length": 1}, "max_session_length"),
        ({"event_types": ("click", "view")}, "event_types"),
        ({"event_types": ()}, "event_types"),
        ({"half_life_days": float("inf")}, "half_life_days"),
        ({"top_n": 0}, "top_n"),
        ({"min_support": 0}, "min_support"),
    ],
)
def test_bad_session_parameters_are_config_errors(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(SessionKindParams(), **change)


def test_guardrails_name_the_limit_and_the_value_seen() -> None:
    events = frame([ev("u", i, T0 + k * 60 * MINUTE_MS) for k, i in enumerate("abc")])
    with pytest.raises(ValidationGateError, match="kind: 3 sessions exceeds max_sessions 2"):
        prepare_sessions(events, END, SessionKindParams(max_sessions=2), "kind")
    with pytest.raises(ValidationGateError, match="kind: 3 distinct items exceeds max_items 2"):
        prepare_sessions(events, END, SessionKindParams(max_items=2), "kind")


@given(
    st.lists(
        st.tuples(st.integers(-5, 5), st.integers(0, 2**40), st.integers(-(2**63), 2**63 - 1)),
        max_size=30,
    )
)
# A constant key then one spanning all of int64: folding them needs a factor of 2**63.
@example([(0, 0, 0), (0, 0, 2**63 - 1)])
def test_stable_order_equals_lexsort_whether_or_not_keys_fold(
    rows: list[tuple[int, int, int]],
) -> None:
    a, b, c = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))
    assert stable_order(a, b, c).tolist() == np.lexsort((c, b, a)).tolist()
    assert stable_order(a, b).tolist() == np.lexsort((b, a)).tolist()


def test_params_as_dict_is_plain_json_with_sorted_event_types() -> None:
    import json

    from recsys_algo.kinds.cooc import CoocParams

    params = CoocParams(event_types=("purchase", "click"))
    assert json.loads(json.dumps(params.as_dict()))["event_types"] == ["click", "purchase"]
    assert params.as_dict()["similarity"] == "cosine"
    assert params.as_dict()["min_support"] == 2

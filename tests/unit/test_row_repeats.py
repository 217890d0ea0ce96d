"""The repeat checks of artifacts: top lists (implicit, item_model) and neighbour pairs."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.kinds.implicit.artifact import repeats_within_rows
from recsys_algo.kinds.neighbors import _repeats_a_pair

rows_strategy = st.lists(st.lists(st.integers(0, 30), max_size=12), max_size=40)


def parts(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    return offsets, np.array([v for r in rows for v in r], np.int32)


@given(rows_strategy)
def test_a_repeat_is_found_in_exactly_the_rows_that_hold_one(rows: list[list[int]]) -> None:
    expected = any(len(set(r)) < len(r) for r in rows)
    assert repeats_within_rows(*parts(rows)) is expected
    offsets, values = parts(rows)
    row = np.repeat(np.arange(len(rows)), np.diff(offsets))  # as the artifact checks have it
    assert repeats_within_rows(offsets, values, row) is expected


def test_the_same_value_in_two_rows_is_no_repeat() -> None:
    assert not repeats_within_rows(*parts([[1, 2, 3], [3, 2, 1], [], [0]]))
    assert repeats_within_rows(*parts([[1, 2, 3], [3, 2, 1], [], [0, 5, 0]]))


def test_very_ragged_rows_are_checked_without_a_grid_of_padding() -> None:
    # One long row among many empty ones takes the one-sort path; both answers hold there too.
    long_row = list(range(1000))
    assert not repeats_within_rows(*parts([long_row, *[[]] * 5000, [7]]))
    assert repeats_within_rows(*parts([long_row, *[[]] * 5000, [7, 7]]))


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), min_size=1))
def test_a_repeated_neighbour_pair_is_found_exactly_when_there_is_one(
    pairs: list[tuple[str, str]],
) -> None:
    frame = pl.DataFrame({"item_id": [a for a, _ in pairs], "neighbor_id": [b for _, b in pairs]})
    assert _repeats_a_pair(frame) is (len(set(pairs)) < len(pairs))

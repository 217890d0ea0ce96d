"""run_starts finds where each run of equal keys starts, as Python's == on the values would."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recsys_algo.kinds.runs import run_starts

KEY = st.one_of(st.none(), st.sampled_from(["a", "b", "é", ""]))


def _frame(users: list[str | None], items: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"user_id": users, "item_id": items}, schema=dict.fromkeys(
        ("user_id", "item_id"), pl.String()
    ))  # fmt: skip


def test_each_change_of_either_key_starts_a_run_and_nulls_equal_nulls() -> None:
    frame = _frame(["u", "u", "u", "v", None, None, None], ["a", "a", "b", "b", "b", None, None])
    assert run_starts(frame, ["user_id", "item_id"]).tolist() == [0, 2, 3, 4, 5]
    assert run_starts(frame, ["item_id"]).tolist() == [0, 2, 5]
    assert run_starts(frame.head(0), ["item_id"]).tolist() == []


@given(st.data())
def test_starts_match_comparing_the_values_one_by_one(data: st.DataObject) -> None:
    users = data.draw(st.lists(KEY, max_size=40))
    items = data.draw(st.lists(KEY, min_size=len(users), max_size=len(users)))
    expected = [
        at
        for at in range(len(users))
        if at == 0 or users[at] != users[at - 1] or items[at] != items[at - 1]
    ]
    found = run_starts(_frame(users, items), ["user_id", "item_id"])
    assert found.dtype == np.intp
    assert found.tolist() == expected

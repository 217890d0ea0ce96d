"""Runs of equal keys in sorted rows: where each group starts, found by polars on the columns.

Popularity and the user-item weights sum each run with numpy (np.add.reduceat over the sorted
rows: bit-identical whatever the input order). Their keys are strings: comparing them as numpy
object arrays made one Python str per row and key (~200 MB at 1M events, issue 18, fourth
round), and was the peak of implicit's and item_model's steps and of their evaluation fits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl


def run_starts(rows: pl.DataFrame, keys: Sequence[str]) -> npt.NDArray[np.intp]:
    """Ascending indices of the rows whose keys differ from the row before (the first row
    always); a null equals a null, as Python's == on the values did."""
    first = pl.int_range(pl.len()) == 0
    changed = pl.any_horizontal(first, *(pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys))
    return np.flatnonzero(rows.select(changed.alias("start"))["start"].to_numpy())

"""The `item_model` artifact table: item rows (each item's top neighbours) then user rows (each
known user's top unseen items), both as ordinals of the item rows; its blocking check."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.kinds.implicit.artifact import (
    MAX_ITEMS,
    MAX_USERS,
    check_entities,
    list_parts,
    repeats_within_rows,
)

__all__ = ["MAX_ITEMS", "MAX_USERS", "SCHEMA_VERSION", "check_item_model", "item_model_frame"]

SCHEMA_VERSION = 1
_STRINGS = (pa.string(), pa.large_string(), pa.string_view())
UserLists = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]
Triples = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def item_model_frame(
    item_ids: list[str], user_ids: list[str], kept: Triples, lists: UserLists
) -> pl.DataFrame:
    """item rows (ordinal = row), then user rows; kept: (item, neighbour, weight) in row
    order, weight desc; lists: the users' CSR (offsets, item ordinals, scores)."""
    rows, cols, vals = kept
    item_offsets = np.zeros(len(item_ids) + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=len(item_ids)), out=item_offsets[1:])
    offsets, top, scores = lists
    all_offsets = np.concatenate([item_offsets, item_offsets[-1] + offsets[1:]]).astype(np.int32)
    table = pa.table(
        {
            "entity": pa.array(["item"] * len(item_ids) + ["user"] * len(user_ids), pa.string()),
            "id": pa.array(item_ids + user_ids, pa.string()),
            "top_items": pa.ListArray.from_arrays(
                all_offsets, pa.array(np.concatenate([cols, top]).astype(np.int32), pa.int32())
            ),
            "top_scores": pa.ListArray.from_arrays(
                all_offsets,
                pa.array(np.concatenate([vals, scores]).astype(np.float32), pa.float32()),
            ),
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _check_schema(table: pa.Table, where: str) -> None:
    types = {f.name: f.type for f in table.schema}
    ok = list(types) == ["entity", "id", "top_items", "top_scores"]
    if ok:
        items, scores = types["top_items"], types["top_scores"]
        ok = (
            types["entity"] in _STRINGS
            and types["id"] in _STRINGS
            and (pa.types.is_list(items) or pa.types.is_large_list(items))
            and items.value_type == pa.int32()
            and (pa.types.is_list(scores) or pa.types.is_large_list(scores))
            and scores.value_type == pa.float32()
        )
    if not ok:
        raise ArtifactError(
            f"{where}: item_model schema is {types}, expected entity, id (string), "
            "top_items list<int32>, top_scores list<float32>"
        )


def check_item_model(table: pa.Table, where: str) -> None:
    """Blocking checks of an `item_model` artifact; raise ArtifactError naming the problem."""
    _check_schema(table, where)
    n_items, _ = check_entities(table, where, "item_model")
    if table["top_items"].null_count or table["top_scores"].null_count:
        raise ArtifactError(f"{where}: item_model lists must not be null")
    offsets, items = list_parts(table["top_items"])
    score_offsets, scores = list_parts(table["top_scores"])
    if not np.array_equal(offsets, score_offsets):
        raise ArtifactError(f"{where}: item_model top_items and top_scores lengths differ")
    top = items.to_numpy(zero_copy_only=False).astype(np.int64)
    score = scores.to_numpy(zero_copy_only=False)
    if items.null_count or (top.size and (top.min() < 0 or top.max() >= n_items)):
        raise ArtifactError(f"{where}: item_model lists must hold item ordinals 0..{n_items - 1}")
    if scores.null_count or not np.isfinite(score).all():
        raise ArtifactError(f"{where}: item_model scores must be finite")
    row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    if np.any((row[1:] == row[:-1]) & (score[1:] > score[:-1])):
        raise ArtifactError(f"{where}: item_model scores must be sorted descending per row")
    if repeats_within_rows(offsets, top, row):
        raise ArtifactError(f"{where}: item_model repeats an item within a row")
    on_items = row < n_items
    if np.any(top[on_items] == row[on_items]) or np.any(score[on_items] <= 0):
        raise ArtifactError(f"{where}: item_model item rows need other items with weights > 0")

"""The `implicit` artifact table: its schema, its blocking check and its list columns."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from recsys_algo.contracts.errors import ArtifactError

SCHEMA_VERSION = 1
MAX_USERS = 5_000_000
MAX_ITEMS = 2_000_000
_STRINGS = (pa.string(), pa.large_string(), pa.string_view())


def list_parts(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], pa.Array]:
    """Offsets (one per row plus one) and flat values of a list column; nulls are empty."""
    array = column.combine_chunks()
    if isinstance(array, pa.ListViewArray | pa.LargeListViewArray):
        array = array.cast(pa.large_list(array.type.value_type))
    offsets = array.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    if offsets.size == 0:  # an empty list array may carry no offsets at all
        return np.zeros(1, np.int64), array.values.slice(0, 0)
    return offsets - offsets[0], array.values.slice(offsets[0], offsets[-1] - offsets[0])


def factor_matrix(column: pa.ChunkedArray) -> npt.NDArray[np.float32]:
    array = column.combine_chunks()
    dim = array.type.list_size
    flat = array.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat.reshape(len(array), dim), dtype=np.float32)


def _check_schema(table: pa.Table, where: str) -> None:
    types = {f.name: f.type for f in table.schema}
    problems = []
    if list(types) != ["entity", "id", "factors", "top_items", "top_scores"]:
        problems.append(f"columns {list(types)}")
    else:
        factors, items, scores = types["factors"], types["top_items"], types["top_scores"]
        if types["entity"] not in _STRINGS or types["id"] not in _STRINGS:
            problems.append("entity and id must be strings")
        if not (pa.types.is_fixed_size_list(factors) and factors.value_type == pa.float32()):
            problems.append(f"factors is {factors}, expected fixed_size_list<float32>")
        for name, typ, value in (
            ("top_items", items, pa.int32()),
            ("top_scores", scores, pa.float32()),
        ):
            listy = (
                pa.types.is_list(typ)
                or pa.types.is_large_list(typ)
                or pa.types.is_list_view(typ)
                or pa.types.is_large_list_view(typ)
            )
            if not (listy and typ.value_type == value):
                problems.append(f"{name} is {typ}, expected list<{value}>")
    if problems:
        raise ArtifactError(f"{where}: implicit schema is wrong: {'; '.join(problems)}")


def check_entities(table: pa.Table, where: str, kind: str) -> tuple[int, int]:
    """(items, users) of a table of item rows then user rows (implicit, item_model): entities
    in that order, within the limits, ids unique and ascending within each."""
    entity = np.asarray(table["entity"].to_pylist(), dtype=object)
    n_items = int((entity == "item").sum())
    n_users = int((entity == "user").sum())
    if n_items + n_users != table.num_rows:
        raise ArtifactError(f"{where}: {kind} entity must be 'item' or 'user'")
    if n_items == 0:
        raise ArtifactError(f"{where}: {kind} has no item rows")
    if not (entity[:n_items] == "item").all():
        raise ArtifactError(f"{where}: {kind} item rows must come before user rows")
    if n_items > MAX_ITEMS or n_users > MAX_USERS:
        raise ArtifactError(
            f"{where}: {kind} has {n_items} items and {n_users} users; "
            f"limits are {MAX_ITEMS} and {MAX_USERS}"
        )
    ids = table["id"].to_pylist()
    for name, part in (("item", ids[:n_items]), ("user", ids[n_items:])):
        if any(i is None for i in part) or any(a >= b for a, b in itertools.pairwise(part)):
            raise ArtifactError(f"{where}: {kind} {name} ids must be unique and ascending")
    return n_items, n_users


def check_implicit(table: pa.Table, where: str) -> None:
    """Blocking checks of an `implicit` artifact table; raise ArtifactError naming the problem."""
    _check_schema(table, where)
    n_items, _ = check_entities(table, where, "implicit")
    if table["factors"].null_count or not np.isfinite(factor_matrix(table["factors"])).all():
        raise ArtifactError(f"{where}: implicit factors must be present and finite")
    _check_top_lists(table, n_items, where)


def _check_top_lists(table: pa.Table, n_items: int, where: str) -> None:
    items_nulls = np.asarray(table["top_items"].is_null().to_numpy(zero_copy_only=False))
    scores_nulls = np.asarray(table["top_scores"].is_null().to_numpy(zero_copy_only=False))
    if not (items_nulls[:n_items].all() and scores_nulls[:n_items].all()):
        raise ArtifactError(f"{where}: implicit item rows must have null top_items/top_scores")
    if items_nulls[n_items:].any() or scores_nulls[n_items:].any():
        raise ArtifactError(f"{where}: implicit user rows need top_items and top_scores")
    offsets, items = list_parts(table["top_items"])
    score_offsets, scores = list_parts(table["top_scores"])
    if not np.array_equal(offsets, score_offsets):
        raise ArtifactError(f"{where}: implicit top_items and top_scores lengths differ")
    top = items.to_numpy(zero_copy_only=False)
    score = scores.to_numpy(zero_copy_only=False)
    if items.null_count or (top.size and (top.min() < 0 or top.max() >= n_items)):
        raise ArtifactError(
            f"{where}: implicit top_items must be item ordinals in 0..{n_items - 1}"
        )
    if scores.null_count or not np.isfinite(score).all():
        raise ArtifactError(f"{where}: implicit top_scores must be finite")
    row = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    same_row = row[1:] == row[:-1]
    if np.any(same_row & (score[1:] > score[:-1])):
        raise ArtifactError(f"{where}: implicit top_scores must be sorted descending per user")
    if repeats_within_rows(offsets, top, row):
        raise ArtifactError(f"{where}: implicit top_items repeat an item for one user")


def repeats_within_rows(
    offsets: npt.NDArray[np.int64],
    values: npt.NDArray[Any],
    row: npt.NDArray[np.integer[Any]] | None = None,
) -> bool:
    """Whether a row (values[offsets[r]:offsets[r + 1]], offsets from 0) holds a value twice;
    values are >= 0; row: each value's row, if the caller has it already. Rows are sorted one
    by one in a grid padded with distinct negatives: for 50k top-50 lists about 5x faster than
    one sort of (row, value) keys, which stays the way for very ragged rows (a grid that would
    be mostly padding)."""
    lengths = np.diff(offsets)
    width = int(lengths.max(initial=0))
    if width < 2:
        return False
    if row is None:
        row = np.repeat(np.arange(lengths.size), lengths)
    if lengths.size * width > 4 * values.size:
        pairs = np.sort(row.astype(np.int64) * (int(values.max()) + 1) + values)
        return bool(np.any(pairs[1:] == pairs[:-1]))
    grid = np.repeat(-1 - np.arange(width, dtype=np.int64)[None, :], lengths.size, axis=0)
    grid[row, np.arange(values.size) - np.repeat(offsets[:-1], lengths)] = values
    grid.sort(axis=1)
    return bool(np.any(grid[:, 1:] == grid[:, :-1]))

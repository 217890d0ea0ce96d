"""The `implicit` artifact: its blocking check and a serving index with fold-in for new users."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from threadpoolctl import ThreadpoolController

from recsys_algo.errors import ArtifactError
from recsys_algo.ranking import EMPTY, Codes, ItemVocab, Ranked, take

SCHEMA_VERSION = 1
MAX_USERS = 5_000_000
MAX_ITEMS = 2_000_000
_STRINGS = (pa.string(), pa.large_string(), pa.string_view())


def _list_parts(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], pa.Array]:
    """Offsets (one per row plus one) and flat values of a list column; nulls are empty."""
    array = column.combine_chunks()
    if isinstance(array, pa.ListViewArray | pa.LargeListViewArray):
        array = array.cast(pa.large_list(array.type.value_type))
    offsets = array.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    if offsets.size == 0:  # an empty list array may carry no offsets at all
        return np.zeros(1, np.int64), array.values.slice(0, 0)
    return offsets - offsets[0], array.values.slice(offsets[0], offsets[-1] - offsets[0])


def _factor_matrix(column: pa.ChunkedArray) -> npt.NDArray[np.float32]:
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


def check_implicit(table: pa.Table, where: str) -> None:
    """Blocking checks of an `implicit` artifact table; raise ArtifactError naming the problem."""
    _check_schema(table, where)
    entity = np.asarray(table["entity"].to_pylist(), dtype=object)
    is_item = entity == "item"
    n_items = int(is_item.sum())
    n_users = int((entity == "user").sum())
    if n_items + n_users != table.num_rows:
        raise ArtifactError(f"{where}: implicit entity must be 'item' or 'user'")
    if n_items == 0:
        raise ArtifactError(f"{where}: implicit has no item rows")
    if not is_item[:n_items].all():
        raise ArtifactError(f"{where}: implicit item rows must come before user rows")
    if n_items > MAX_ITEMS or n_users > MAX_USERS:
        raise ArtifactError(
            f"{where}: implicit has {n_items} items and {n_users} users; "
            f"limits are {MAX_ITEMS} and {MAX_USERS}"
        )
    ids = table["id"].to_pylist()
    for name, part in (("item", ids[:n_items]), ("user", ids[n_items:])):
        if any(i is None for i in part) or any(a >= b for a, b in itertools.pairwise(part)):
            raise ArtifactError(f"{where}: implicit {name} ids must be unique and ascending")
    if table["factors"].null_count or not np.isfinite(_factor_matrix(table["factors"])).all():
        raise ArtifactError(f"{where}: implicit factors must be present and finite")
    _check_top_lists(table, n_items, where)


def _check_top_lists(table: pa.Table, n_items: int, where: str) -> None:
    items_nulls = np.asarray(table["top_items"].is_null().to_numpy(zero_copy_only=False))
    scores_nulls = np.asarray(table["top_scores"].is_null().to_numpy(zero_copy_only=False))
    if not (items_nulls[:n_items].all() and scores_nulls[:n_items].all()):
        raise ArtifactError(f"{where}: implicit item rows must have null top_items/top_scores")
    if items_nulls[n_items:].any() or scores_nulls[n_items:].any():
        raise ArtifactError(f"{where}: implicit user rows need top_items and top_scores")
    offsets, items = _list_parts(table["top_items"])
    score_offsets, scores = _list_parts(table["top_scores"])
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
    pairs = np.sort(row.astype(np.int64) * n_items + top)
    if np.any(pairs[1:] == pairs[:-1]):
        raise ArtifactError(f"{where}: implicit top_items repeat an item for one user")


@dataclass(frozen=True, slots=True)
class CollabArrays:
    """What a CollabIndex serves from: arrays (memory-mappable) and the known user ids."""

    item_codes: Codes  # factor row -> item code, ascending
    row_of_code: npt.NDArray[np.int64]  # item code -> factor row, -1 for items without factors
    item_factors: npt.NDArray[np.float32]
    gram: npt.NDArray[np.float64]  # Y'Y + regularization I, for fold-in
    user_ids: list[str]
    top_offsets: npt.NDArray[np.int64]  # user row -> its slice of top_codes / top_scores
    top_codes: Codes
    top_scores: npt.NDArray[np.float32]
    regularization: float
    alpha: float


class CollabIndex:
    """Serving view of an `implicit` table: precomputed top-N for known users, fold-in otherwise.

    Items are codes of the version's vocabulary; the table's item rows are sorted by id, so
    their ordinals run in code order. regularization and alpha must match the fit (they live in
    the manifest's parameters).
    """

    def __init__(self, arrays: CollabArrays) -> None:
        self.arrays = arrays
        self.item_codes, self.row_of_code = arrays.item_codes, arrays.row_of_code
        self.item_factors, self._gram = arrays.item_factors, arrays.gram
        self.user_rows = {user: u for u, user in enumerate(arrays.user_ids)}
        self._offsets, self._top_codes = arrays.top_offsets, arrays.top_codes
        self._top_scores = arrays.top_scores
        self.regularization, self.alpha = arrays.regularization, arrays.alpha
        # One small solve and product per request: BLAS threads only add hand-off latency.
        self._blas = ThreadpoolController()

    @classmethod
    def build(
        cls,
        item_codes: Codes,
        vocab_size: int,
        item_factors: npt.NDArray[np.float32],
        user_ids: list[str],
        top_offsets: npt.NDArray[np.int64],
        top_codes: Codes,
        top_scores: npt.NDArray[np.float32],
        regularization: float,
        alpha: float,
    ) -> CollabIndex:
        row_of_code = np.full(vocab_size, -1, np.int64)
        row_of_code[item_codes] = np.arange(item_codes.size)
        factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        yy = factors.astype(np.float64)
        gram = yy.T @ yy + regularization * np.eye(yy.shape[1])
        arrays = CollabArrays(
            item_codes, row_of_code, factors, gram, user_ids, top_offsets, top_codes,
            top_scores, regularization, alpha,
        )  # fmt: skip
        return cls(arrays)

    @classmethod
    def from_table(
        cls, table: pa.Table, vocab: ItemVocab, regularization: float = 0.05, alpha: float = 20.0
    ) -> CollabIndex:
        entity = table["entity"].to_pylist()
        n_items = entity.count("item")
        item_codes = vocab.encode(table["id"].slice(0, n_items))
        factors = _factor_matrix(table["factors"])
        offsets, items = _list_parts(table["top_items"].slice(n_items))
        _, scores = _list_parts(table["top_scores"].slice(n_items))
        return cls.build(
            item_codes,
            len(vocab),
            factors[:n_items],
            table["id"].slice(n_items).to_pylist(),
            offsets,
            item_codes[items.to_numpy(zero_copy_only=False)],
            scores.to_numpy(zero_copy_only=False).astype(np.float32),
            regularization,
            alpha,
        )

    def known_user_top(self, user_id: str, n: int, exclude: Codes) -> Ranked | None:
        """The user's precomputed top items (at most n, none excluded), or None for a user the
        model never saw."""
        row = self.user_rows.get(user_id)
        if row is None:
            return None
        start, stop = int(self._offsets[row]), int(self._offsets[row + 1])
        return take(self._top_codes[start:stop], self._top_scores[start:stop], n, exclude)

    def fold_in(self, item_codes: Codes, n: int, exclude: Codes) -> Ranked:
        """Score all items for an unseen user who interacted with item_codes (one event each).

        The user vector solves the implicit-ALS normal equations with confidence 1 + alpha:
        (Y'Y + reg I + alpha Ys'Ys) x = (1 + alpha) Ys' 1. Items without factors are ignored.
        """
        rows = self.row_of_code[item_codes]
        sent = np.unique(rows[rows >= 0])
        if sent.size == 0 or n <= 0:
            return EMPTY
        ys = self.item_factors[sent].astype(np.float64)
        with self._blas.limit(limits=1, user_api="blas"):
            gram = self._gram + self.alpha * (ys.T @ ys)
            vector = np.linalg.solve(gram, (1 + self.alpha) * ys.sum(0))
            scores = self.item_factors @ vector.astype(np.float32)
        scores[sent] = -np.inf
        banned = self.row_of_code[exclude]
        scores[banned[banned >= 0]] = -np.inf
        best = _top(scores, n)
        return Ranked(self.item_codes[best], scores[best].astype(np.float64))


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    """Rows of the best k finite scores, ties by row (id order)."""
    k = min(k, scores.size)
    kth = np.partition(scores, scores.size - k)[scores.size - k]
    cand = np.flatnonzero((scores >= kth) & np.isfinite(scores))
    return cand[np.lexsort((cand, -scores[cand]))][:k]

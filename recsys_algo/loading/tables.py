"""Arrow columns -> item codes: the vocabulary of a version and each index's arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.kinds.implicit.artifact import factor_matrix, list_parts
from recsys_algo.serving.implicit_index import CollabIndex
from recsys_algo.serving.indexes import NeighborIndex, PopularityIndex
from recsys_algo.serving.item_model_index import ItemModelArrays, ItemModelIndex
from recsys_algo.serving.ranking import Codes, ItemVocab
from recsys_algo.serving.revisit_index import RevisitIndex
from recsys_algo.serving.session_index import SessionIndex


def vocab_from_columns(columns: Sequence[pa.Array | pa.ChunkedArray]) -> ItemVocab:
    """The union of string columns; Arrow sorts UTF-8 bytes, which is code point order."""
    parts = [pc.unique(c).cast(pa.large_string()) for c in columns]
    if not parts:
        return ItemVocab.of(())
    distinct = pc.unique(pa.chunked_array(parts, type=pa.large_string()))
    ids = distinct.take(pc.sort_indices(distinct)).to_pylist()
    return ItemVocab(ids, {item: code for code, item in enumerate(ids)})


def encode(vocab: ItemVocab, column: pa.Array | pa.ChunkedArray) -> Codes:
    """Codes of every value of a string column (each must be in the vocabulary)."""
    value_set = pa.array(vocab.ids, type=pa.large_string())
    codes = pc.index_in(column.cast(pa.large_string()), value_set=value_set)
    if codes.null_count:
        raise ValueError("a value is missing from the item vocabulary")
    return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int32)


def popularity_index(table: pa.Table, vocab: ItemVocab) -> PopularityIndex:
    """Item codes and scores, best first, exactly in the artifact's order."""
    return PopularityIndex(
        codes=encode(vocab, table["item_id"]),
        scores=np.asarray(table["score"].to_numpy(), dtype=np.float64),
    )


def neighbor_index(table: pa.Table, vocab: ItemVocab, where: str = "") -> NeighborIndex:
    """A neighbour table (rows grouped by item_id) as per-item spans of codes and scores."""
    items = encode(vocab, table["item_id"])
    if items.size > 1 and bool(np.any(items[1:] < items[:-1])):
        raise ArtifactError(f"{where}: neighbour rows are not grouped by item_id".lstrip(": "))
    every = np.arange(len(vocab))
    return NeighborIndex(
        starts=np.searchsorted(items, every, side="left"),
        ends=np.searchsorted(items, every, side="right"),
        codes=encode(vocab, table["neighbor_id"]),
        scores=np.asarray(table["score"].to_numpy(), dtype=np.float64),
    )


def factors_index(
    table: pa.Table, vocab: ItemVocab, regularization: float = 0.05, alpha: float = 20.0
) -> CollabIndex:
    """Decode a checked factors table into a CollabIndex over vocab's codes; regularization and
    alpha must be the fit's (the manifest's lineage parameters carry them)."""
    entity = table["entity"].to_pylist()
    n_items = entity.count("item")
    item_codes = encode(vocab, table["id"].slice(0, n_items))
    factors = factor_matrix(table["factors"])
    offsets, items = list_parts(table["top_items"].slice(n_items))
    _, scores = list_parts(table["top_scores"].slice(n_items))
    return CollabIndex.build(
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


def revisit_index(table: pa.Table) -> RevisitIndex:
    """A checked revisit table (every cell, in order) as its probability grid."""
    occurrences = int(pc.max(table["occurrences"]).as_py())
    return RevisitIndex(np.asarray(table["probability"].to_numpy(), np.float64), occurrences)


def session_index(
    table: pa.Table, vocab: ItemVocab, *, neighbors: int, sample: int, recent_items: int, idf: bool
) -> SessionIndex:
    """A checked session_knn table (sessions most recent first) as CSR rows of item codes."""
    items = table["items"].combine_chunks()
    offsets = np.asarray(items.offsets.to_numpy(), np.int64)
    offsets = offsets - offsets[0]  # a sliced list array starts past zero
    codes = encode(vocab, items.flatten())
    return SessionIndex.build(
        offsets, codes, len(vocab),
        neighbors=neighbors, sample=sample, recent_items=recent_items, idf=idf,
    )  # fmt: skip


def item_model_index(table: pa.Table, vocab: ItemVocab) -> ItemModelIndex:
    """A checked item_model table: item rows' weights and user rows' lists, as vocab codes."""
    entity = table["entity"].to_pylist()
    n_items = entity.count("item")
    item_codes = encode(vocab, table["id"].slice(0, n_items))
    offsets, items = list_parts(table["top_items"])
    _, scores = list_parts(table["top_scores"])
    neighbor = item_codes[items.to_numpy(zero_copy_only=False)]
    score = scores.to_numpy(zero_copy_only=False)
    # Item rows are in code order (ids ascending), so each code's row is one span.
    starts = np.zeros(len(vocab), np.int64)
    ends = np.zeros(len(vocab), np.int64)
    starts[item_codes], ends[item_codes] = offsets[:n_items], offsets[1 : n_items + 1]
    user_offsets = offsets[n_items:] - offsets[n_items]
    return ItemModelIndex(
        ItemModelArrays(
            starts=starts,
            ends=ends,
            codes=neighbor[: offsets[n_items]],
            scores=score[: offsets[n_items]].astype(np.float64),
            user_ids=table["id"].slice(n_items).to_pylist(),
            top_offsets=user_offsets,
            top_codes=neighbor[offsets[n_items] :],
            top_scores=score[offsets[n_items] :].astype(np.float32),
        )
    )

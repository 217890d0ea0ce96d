"""Prepared versions: a built ScopeModel as one file of aligned arrays, memory-mapped to serve.

A loader process verifies a manifest, builds its model and writes it here once; every serving
process maps the file read-only, so the arrays live once in the page cache however many
workers serve them, and a swap costs the mapping plus the id dictionaries, not a rebuild.

Layout: 8-byte magic, 8-byte little-endian header length, the JSON header (metadata and, per
array, dtype, shape and offset), then each array's bytes at a 64-byte aligned offset. Files are
written to a temporary name and renamed, so a reader sees a whole file or none.
"""

from __future__ import annotations

import itertools
import json
import mmap
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.serving.implicit_index import CollabArrays, CollabIndex
from recsys_algo.serving.indexes import NeighborIndex, PopularityIndex
from recsys_algo.serving.item_model_index import ItemModelArrays, ItemModelIndex
from recsys_algo.serving.ranking import FusedLists, ItemVocab
from recsys_algo.serving.recommender import BlendParams, PlainAnswers, ScopeModel
from recsys_algo.serving.revisit_index import RevisitIndex
from recsys_algo.serving.session_index import SessionIndex

MAGIC = b"RSPREP01"
# 4: the repeat model (revisits.), session neighbours (sessions.), the item model (items.);
# 3: arrays named by role (popular., factors.); 2: model key
FORMAT_VERSION = 4
_ALIGN = 64
_HEADER_LEN = struct.Struct("<Q")
Arrays = dict[str, npt.NDArray[Any]]
_SESSION_ARRAYS = ("offsets", "items", "item_starts", "item_ends", "sessions_of_item")
_SESSION_KNOBS = ("neighbors", "sample", "recent_items")
_PLAIN_ARRAYS = ("offsets", "codes", "scores", "sources")
_ITEM_ARRAYS = ("starts", "ends", "codes", "scores", "top_offsets", "top_codes", "top_scores")


def _strings_arrays(name: str, values: list[str]) -> Arrays:
    """A list of str as UTF-8 text and character offsets (decoded without pyarrow)."""
    text = "".join(values)
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    return {
        f"{name}.text": np.frombuffer(text.encode("utf-8"), np.uint8),
        f"{name}.offsets": offsets,
    }


def _strings(arrays: Mapping[str, npt.NDArray[Any]], name: str) -> list[str]:
    text = arrays[f"{name}.text"].tobytes().decode("utf-8")
    bounds = arrays[f"{name}.offsets"].tolist()
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def model_arrays(model: ScopeModel) -> tuple[dict[str, Any], Arrays]:
    """(description, arrays) of a model: everything needed to rebuild it without tables."""
    arrays: Arrays = {
        **_strings_arrays("vocab", model.vocab.ids),
        "popular.codes": model.popular_items.codes,
        "popular.scores": model.popular_items.scores,
    }
    for kind, index in model.neighbors.items():
        for field in ("starts", "ends", "codes", "scores"):
            arrays[f"{kind}.{field}"] = getattr(index, field)
    collab = None
    if model.collab is not None:
        if not isinstance(model.collab, CollabIndex):
            raise TypeError(f"cannot prepare a {type(model.collab).__name__} collab model")
        c = model.collab.arrays
        collab = {"regularization": c.regularization, "alpha": c.alpha}
        arrays.update(_strings_arrays("factors.users", c.user_ids))
        for field in ("item_codes", "row_of_code", "item_factors", "gram"):
            arrays[f"factors.{field}"] = getattr(c, field)
        for field in ("top_offsets", "top_codes", "top_scores"):
            arrays[f"factors.{field}"] = getattr(c, field)
    plain = None
    if model.plain is not None:
        plain, plain_found = plain_arrays(model.plain)
        arrays.update(plain_found)
    revisits = None
    if model.revisits is not None:
        revisits = {"occurrences": model.revisits.occurrences}
        arrays["revisits.probability"] = model.revisits.probability
    sessions = None
    if model.sessions is not None:
        found = model.sessions
        sessions = {f: getattr(found, f) for f in _SESSION_KNOBS}
        for field in _SESSION_ARRAYS:
            arrays[f"sessions.{field}"] = getattr(found, field)
        if found.idf is not None:
            arrays["sessions.idf"] = found.idf
    item_scores = None
    if model.item_scores is not None:
        if not isinstance(model.item_scores, ItemModelIndex):
            raise TypeError(f"cannot prepare a {type(model.item_scores).__name__} item model")
        item_scores = True
        arrays.update(_strings_arrays("items.users", model.item_scores.arrays.user_ids))
        for field in _ITEM_ARRAYS:
            arrays[f"items.{field}"] = getattr(model.item_scores.arrays, field)
    described = {"neighbors": list(model.neighbors), "collab": collab, "plain": plain}
    extra = {"revisits": revisits, "sessions": sessions, "item_scores": item_scores}
    return {**described, **extra}, arrays


def plain_arrays(plain: PlainAnswers) -> tuple[dict[str, Any], Arrays]:
    """(description, arrays) of a model's plain answers: in its file, or in a file of their own
    (the loader child writes them after the model, recsys_service.loader_child)."""
    described = {"k": plain.k, "users": plain.users, "params": plain.params.as_dict()}
    return described, {f"plain.{f}": getattr(plain.lists, f) for f in _PLAIN_ARRAYS}


def plain_from_arrays(description: Mapping[str, Any], arrays: Mapping[str, Any]) -> PlainAnswers:
    lists = FusedLists(*(arrays[f"plain.{f}"] for f in _PLAIN_ARRAYS))
    params = BlendParams(**description["params"])
    return PlainAnswers(params, int(description["k"]), int(description["users"]), lists)


def model_from_arrays(description: Mapping[str, Any], arrays: Mapping[str, Any]) -> ScopeModel:
    ids = _strings(arrays, "vocab")
    vocab = ItemVocab(ids, {item: code for code, item in enumerate(ids)})
    popular_items = PopularityIndex(arrays["popular.codes"], arrays["popular.scores"])
    neighbors = {
        kind: NeighborIndex(*(arrays[f"{kind}.{f}"] for f in ("starts", "ends", "codes", "scores")))
        for kind in description["neighbors"]
    }
    collab = None
    if description["collab"] is not None:
        fit = description["collab"]
        collab = CollabIndex(
            CollabArrays(
                item_codes=arrays["factors.item_codes"],
                row_of_code=arrays["factors.row_of_code"],
                item_factors=arrays["factors.item_factors"],
                gram=arrays["factors.gram"],
                user_ids=_strings(arrays, "factors.users"),
                top_offsets=arrays["factors.top_offsets"],
                top_codes=arrays["factors.top_codes"],
                top_scores=arrays["factors.top_scores"],
                regularization=float(fit["regularization"]),
                alpha=float(fit["alpha"]),
            )
        )
    plain = None
    if description.get("plain") is not None:
        plain = plain_from_arrays(description["plain"], arrays)
    revisits = None
    if description.get("revisits") is not None:
        occurrences = int(description["revisits"]["occurrences"])
        revisits = RevisitIndex(arrays["revisits.probability"], occurrences)
    sessions = None
    if description.get("sessions") is not None:
        knobs = description["sessions"]
        sessions = SessionIndex(
            offsets=arrays["sessions.offsets"],
            items=arrays["sessions.items"],
            item_starts=arrays["sessions.item_starts"],
            item_ends=arrays["sessions.item_ends"],
            sessions_of_item=arrays["sessions.sessions_of_item"],
            idf=arrays.get("sessions.idf"),
            neighbors=int(knobs["neighbors"]),
            sample=int(knobs["sample"]),
            recent_items=int(knobs["recent_items"]),
        )
    item_scores = None
    if description.get("item_scores"):
        item_scores = ItemModelIndex(
            ItemModelArrays(
                **{f: arrays[f"items.{f}"] for f in _ITEM_ARRAYS},
                user_ids=_strings(arrays, "items.users"),
            )
        )
    return ScopeModel(
        vocab, popular_items, neighbors, collab, plain, revisits, sessions, item_scores
    )


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def write_prepared(path: Path, meta: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
    """Write meta and arrays to path atomically (temporary name, fsync, rename)."""
    table: dict[str, Any] = {}
    offset = 0
    for name, array in arrays.items():
        a = np.ascontiguousarray(array)
        table[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset}
        offset = _aligned(offset + a.nbytes)
    header = json.dumps({"format": FORMAT_VERSION, "meta": meta, "arrays": table}).encode()
    start = _aligned(len(MAGIC) + _HEADER_LEN.size + len(header))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as out:
            out.write(MAGIC + _HEADER_LEN.pack(len(header)) + header)
            for name, array in arrays.items():
                out.seek(start + table[name]["offset"])
                out.write(np.ascontiguousarray(array).data)  # the buffer itself, not a copy
            out.truncate(start + offset)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk, say: leave nothing half-written behind
        raise


@dataclass(frozen=True)
class Prepared:
    """A mapped prepared file: its metadata and read-only arrays viewing the mapping."""

    meta: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]]
    size: int


def read_prepared(path: Path) -> Prepared:
    """Map path read-only; arrays are views of the mapping (no copy, shared between processes).

    The mapping stays valid after the file is unlinked, until the arrays are gone.
    """
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(MAGIC) + _HEADER_LEN.size:
            raise ArtifactError(f"{path}: prepared file is truncated ({size} bytes)")
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    buffer = memoryview(mapped)
    if bytes(buffer[: len(MAGIC)]) != MAGIC:
        raise ArtifactError(f"{path}: not a prepared file of this format ({MAGIC.decode()})")
    (length,) = _HEADER_LEN.unpack_from(buffer, len(MAGIC))
    body = len(MAGIC) + _HEADER_LEN.size
    try:
        header = json.loads(bytes(buffer[body : body + length]))
    except ValueError as exc:
        raise ArtifactError(f"{path}: prepared header is unreadable ({exc})") from None
    start = _aligned(body + length)
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, spec in header["arrays"].items():
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64))
        at = start + int(spec["offset"])
        if at + count * dtype.itemsize > size:
            raise ArtifactError(f"{path}: prepared array {name} runs past the end of the file")
        arrays[name] = np.frombuffer(buffer, dtype, count, at).reshape(spec["shape"])
    return Prepared(header["meta"], arrays, size)

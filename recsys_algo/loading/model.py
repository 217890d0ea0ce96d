"""The served model of one manifest, built from its decoded artifact tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recsys_algo.contracts.errors import ArtifactError
from recsys_algo.kinds.kind import (
    FACTORS,
    ITEM_WEIGHTS,
    NEIGHBOR_KINDS,
    POPULARITY,
    REVISIT,
    SESSIONS,
)
from recsys_algo.kinds.registry import SPECS
from recsys_algo.loading.tables import (
    factors_index,
    item_model_index,
    neighbor_index,
    popularity_index,
    revisit_index,
    session_index,
    vocab_from_columns,
)
from recsys_algo.serving.indexes import NeighborIndex
from recsys_algo.serving.recommender import ScopeModel


def load_model(
    tables: Mapping[str, pa.Table], parameters: Mapping[str, Any], where: str = ""
) -> ScopeModel:
    """The served model of one manifest: popularity required, other kinds used when present.

    parameters are the manifest's lineage parameters: fold-in needs the fit's regularization
    and alpha, which the artifact file does not carry.
    """
    fit = parameters.get(FACTORS) or {}
    defaults = SPECS[FACTORS].defaults()
    regularization = float(fit.get("regularization", defaults.regularization))
    alpha = float(fit.get("alpha", defaults.alpha))
    return build_model(
        tables,
        where=where,
        regularization=regularization,
        alpha=alpha,
        session_search=parameters.get(SESSIONS),
    )


def build_model(
    tables: Mapping[str, pa.Table],
    *,
    where: str = "",
    regularization: float | None = None,
    alpha: float | None = None,
    session_search: Mapping[str, Any] | None = None,
) -> ScopeModel:
    """A ScopeModel from decoded artifact tables; popularity is required, the rest optional.
    The factors kind is served only when regularization and alpha (its fit's) are given; the
    session neighbours search with session_search (the kind's parameters, defaults if absent)."""
    if POPULARITY not in tables:
        raise ArtifactError(f"{where}: no {POPULARITY} artifact".lstrip(": "))
    vocab = vocab_from_columns(_item_columns(tables))
    neighbors: dict[str, NeighborIndex] = {
        k: neighbor_index(tables[k], vocab, f"{where}: {k}".lstrip(": "))
        for k in NEIGHBOR_KINDS
        if k in tables
    }
    collab = None
    if FACTORS in tables and regularization is not None and alpha is not None:
        collab = factors_index(tables[FACTORS], vocab, regularization, alpha)
    popular_items = popularity_index(tables[POPULARITY], vocab)
    revisits = revisit_index(tables[REVISIT]) if REVISIT in tables else None
    sessions = None
    if SESSIONS in tables:
        search = {**SPECS[SESSIONS].defaults().as_dict(), **(session_search or {})}
        sessions = session_index(
            tables[SESSIONS],
            vocab,
            neighbors=int(search["neighbors"]),
            sample=int(search["sample"]),
            recent_items=int(search["recent_items"]),
            idf=bool(search["idf"]),
        )
    item_scores = item_model_index(tables[ITEM_WEIGHTS], vocab) if ITEM_WEIGHTS in tables else None
    return ScopeModel(
        vocab,
        popular_items,
        neighbors,
        collab,
        revisits=revisits,
        sessions=sessions,
        item_scores=item_scores,
    )


def _item_columns(tables: Mapping[str, pa.Table]) -> list[pa.ChunkedArray]:
    """Every item id column the indexes encode: the vocabulary is their union."""
    columns = [tables[POPULARITY]["item_id"]]
    for kind in NEIGHBOR_KINDS:
        if kind in tables:
            columns += [tables[kind]["item_id"], tables[kind]["neighbor_id"]]
    if SESSIONS in tables:
        columns.append(pc.list_flatten(tables[SESSIONS]["items"]))
    for kind in (FACTORS, ITEM_WEIGHTS):
        if kind in tables:
            table = tables[kind]
            columns.append(table["id"].filter(pc.equal(table["entity"], "item")))
    return columns

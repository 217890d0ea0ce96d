"""What the artifact and evaluation assets read: the trailing window and the tenant's catalog."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from recsys_algo.contracts import layout
from recsys_algo.contracts.catalog import decode_catalog
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.names import Partition
from recsys_algo.kinds.registry import Inputs
from recsys_algo.stages.window import EventWindow, read_window, sha256
from recsys_algo.store.storage import Storage

# What the kinds and the evaluation read; request_id, rank, tenant and surface are not needed.
MODEL_COLUMNS = ("event_id", "ts", "user_id", "session_id", "item_id", "event_type", "value")


@dataclass(frozen=True)
class ModelInputs:
    inputs: Inputs
    window: EventWindow
    fingerprints: dict[str, str]  # window days and the catalog -> sha256 of what was read


def read_model_inputs(storage: Storage, p: Partition, window_days: int) -> ModelInputs:
    """Canonical events of the window and the catalog rows for this surface (or for all)."""
    window = read_window(storage, p, window_days, MODEL_COLUMNS)
    key = layout.catalog_key(p.tenant)
    try:
        data = storage.read_bytes(key)
    except NotFoundError:
        raise DataSourceError(
            f"{p.label}: no catalog at {storage.uri_for(key)}; content_sim needs item tags "
            "(`recsys generate` and `recsys import movielens` write one)"
        ) from None
    catalog = decode_catalog(data, storage.uri_for(key)).filter(
        pl.col("surface").is_null() | (pl.col("surface") == p.surface)
    )
    as_of_end = dt.datetime.combine(p.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return ModelInputs(
        Inputs(window.frame, catalog, as_of_end),
        window,
        {**window.inputs, "catalog": sha256(data)},
    )

"""What the artifact and evaluation assets read: the trailing window and the tenant's catalog.

A run reads the same window for every kind and for the evaluation, one step after the other in
one process (the in-process executor, the CLI, the bench). The last window decoded is kept and
handed to the next step that asks for the same partition over the same bytes: each step still
reads and hashes every file (the fingerprints its metadata records, and the proof that nothing
changed), but only the first decodes them. The key is the content (each day's and the catalog's
sha256), so a rewritten day is read afresh; one window at most is held, and it is dropped
before a different one is read, so two never coexist.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import polars as pl

from recsys_algo.contracts import layout
from recsys_algo.contracts.catalog import decode_catalog
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.names import Partition
from recsys_algo.kinds.registry import Inputs
from recsys_algo.stages.window import EventWindow, read_window, sha256, window_fingerprints
from recsys_algo.store.storage import Storage

# What the kinds and the evaluation read; request_id, rank, tenant and surface are not needed.
MODEL_COLUMNS = ("event_id", "ts", "user_id", "session_id", "item_id", "event_type", "value")


@dataclass(frozen=True)
class ModelInputs:
    inputs: Inputs
    window: EventWindow
    fingerprints: dict[str, str]  # window days and the catalog -> sha256 of what was read


_Key = tuple[Partition, int, tuple[tuple[str, str], ...]]
_last: dict[_Key, ModelInputs] = {}  # at most one entry: the window the run is computing over
_lock = threading.Lock()


def _key(p: Partition, window_days: int, fingerprints: dict[str, str]) -> _Key:
    return p, window_days, tuple(sorted(fingerprints.items()))


def read_model_inputs(storage: Storage, p: Partition, window_days: int) -> ModelInputs:
    """Canonical events of the window and the catalog rows for this surface (or for all)."""
    catalog_data = _catalog_bytes(storage, p)
    fingerprints = {**window_fingerprints(storage, p, window_days), "catalog": sha256(catalog_data)}
    with _lock:
        held = _last.get(_key(p, window_days, fingerprints))
        if held is not None:
            return held
        _last.clear()  # before decoding another window, so that two are never held at once
    read = _decode(storage, p, window_days, catalog_data)
    with _lock:  # keyed by what was decoded, should a file have changed in between
        _last.clear()
        _last[_key(p, window_days, read.fingerprints)] = read
    return read


def forget_model_inputs() -> None:
    """Drop the window held for the next step (tests; a long-lived caller done with a run)."""
    with _lock:
        _last.clear()


def _catalog_bytes(storage: Storage, p: Partition) -> bytes:
    key = layout.catalog_key(p.tenant)
    try:
        return storage.read_bytes(key)
    except NotFoundError:
        raise DataSourceError(
            f"{p.label}: no catalog at {storage.uri_for(key)}; content_sim needs item tags "
            "(`recsys generate` and `recsys import movielens` write one)"
        ) from None


def _decode(storage: Storage, p: Partition, window_days: int, data: bytes) -> ModelInputs:
    window = read_window(storage, p, window_days, MODEL_COLUMNS)
    key = layout.catalog_key(p.tenant)
    catalog = decode_catalog(data, storage.uri_for(key)).filter(
        pl.col("surface").is_null() | (pl.col("surface") == p.surface)
    )
    as_of_end = dt.datetime.combine(p.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return ModelInputs(
        Inputs(window.frame, catalog, as_of_end),
        window,
        {**window.inputs, "catalog": sha256(data)},
    )

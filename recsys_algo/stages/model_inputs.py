"""What the artifact and evaluation assets read: the trailing window and the tenant's catalog,
and the staged set their results belong to (a digest of those inputs and the parameters).

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
from collections.abc import Mapping
from dataclasses import dataclass, replace

import msgspec
import polars as pl

from recsys_algo import CODE_VERSION
from recsys_algo.contracts import layout
from recsys_algo.contracts.catalog import CATALOG_SCHEMA, decode_catalog
from recsys_algo.contracts.errors import NotFoundError
from recsys_algo.contracts.names import Partition
from recsys_algo.kinds.last_result import LastResult
from recsys_algo.kinds.registry import Inputs
from recsys_algo.recipes.params import ModelParams
from recsys_algo.stages.window import EventWindow, read_window, sha256, window_fingerprints
from recsys_algo.store.storage import Storage

# What the kinds and the evaluation read; request_id, rank, tenant and surface are not needed.
MODEL_COLUMNS = ("event_id", "ts", "user_id", "session_id", "item_id", "event_type", "value")
CATALOG = "catalog"
NO_CATALOG = "none"  # the catalog's fingerprint when the tenant has none


@dataclass(frozen=True)
class ModelInputs:
    inputs: Inputs
    window: EventWindow
    fingerprints: dict[str, str]  # window days and the catalog -> sha256 of what was read
    set_key: str  # the staged set of these inputs and parameters


def set_key_of(fingerprints: Mapping[str, str], params: ModelParams, window_days: int) -> str:
    """Digest of what a staged artifact depends on: the inputs read, every parameter, the code.

    Runs over other canonical events, another catalog or other parameters stage elsewhere, so
    a publish never mixes their artifacts (docs/contracts.md, storage layout)."""
    payload = {
        "inputs": dict(fingerprints),
        "parameters": params.as_dict(),
        "window_days": window_days,
        "code_version": CODE_VERSION,
    }
    return sha256(msgspec.json.encode(payload, order="sorted"))[:32]


def _catalog_bytes(storage: Storage, p: Partition) -> bytes | None:
    try:
        return storage.read_bytes(layout.catalog_key(p.tenant))
    except NotFoundError:
        return None


def _fingerprints(window: Mapping[str, str], catalog: bytes | None) -> dict[str, str]:
    return {**window, CATALOG: NO_CATALOG if catalog is None else sha256(catalog)}


def current_set_key(storage: Storage, p: Partition, window_days: int, params: ModelParams) -> str:
    """The staged set of what the partition's window and catalog hold now."""
    fingerprints = current_fingerprints(storage, p, window_days)
    return set_key_of(fingerprints, params, window_days)


def current_fingerprints(storage: Storage, p: Partition, window_days: int) -> dict[str, str]:
    """Window days and the catalog -> sha256, as they are now (nothing decoded)."""
    return _fingerprints(window_fingerprints(storage, p, window_days), _catalog_bytes(storage, p))


_Key = tuple[Partition, int, tuple[tuple[str, str], ...]]
# At most one entry: the window the run is computing over.
_windows: LastResult[_Key, ModelInputs] = LastResult()
# At most one entry: the last catalog decoded, by the sha256 of its bytes. A range's days read
# the same catalog (ml-latest-small's 9 742 movies took a second a day to decode).
_catalogs: LastResult[str, pl.DataFrame] = LastResult()


def _key(p: Partition, window_days: int, fingerprints: Mapping[str, str]) -> _Key:
    return p, window_days, tuple(sorted(fingerprints.items()))


def read_model_inputs(
    storage: Storage, p: Partition, window_days: int, params: ModelParams
) -> ModelInputs:
    """Canonical events of the window and the catalog rows for this surface (or for all), with
    the staged set of these inputs under params.

    A tenant without a catalog reads an empty one: content_sim is then left out."""
    data = _catalog_bytes(storage, p)
    fingerprints = _fingerprints(window_fingerprints(storage, p, window_days), data)
    held = _windows.get(  # keyed by what was decoded, should a file have changed in between
        _key(p, window_days, fingerprints),
        lambda: _decode(storage, p, window_days, data),
        key_of=lambda decoded: _key(p, window_days, decoded.fingerprints),
    )
    return replace(held, set_key=set_key_of(held.fingerprints, params, window_days))


def forget_model_inputs() -> None:
    """Drop the window and catalog held for the next step (tests; a long-lived caller done
    with a run)."""
    _windows.forget()
    _catalogs.forget()


def _decoded_catalog(data: bytes, where: str) -> pl.DataFrame:
    return _catalogs.get(sha256(data), lambda: decode_catalog(data, where))


def _decode(storage: Storage, p: Partition, window_days: int, data: bytes | None) -> ModelInputs:
    window = read_window(storage, p, window_days, MODEL_COLUMNS)
    if data is None:
        catalog = pl.DataFrame(schema=CATALOG_SCHEMA)
    else:
        catalog = _decoded_catalog(data, storage.uri_for(layout.catalog_key(p.tenant))).filter(
            pl.col("surface").is_null() | (pl.col("surface") == p.surface)
        )
    as_of_end = dt.datetime.combine(p.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return ModelInputs(
        Inputs(window.frame, catalog, as_of_end), window, _fingerprints(window.inputs, data), ""
    )

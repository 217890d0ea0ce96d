"""The tenant catalog in storage (catalog/{tenant}/items.jsonl): write it validated, read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from recsys_algo.contracts.catalog import CatalogItem, decode_catalog, encode_catalog
from recsys_algo.contracts.layout import catalog_key
from recsys_algo.store.storage import Storage


def write_catalog(
    storage: Storage, tenant: str, rows: Iterable[Mapping[str, object] | CatalogItem]
) -> str:
    """Validate and atomically replace catalog/{tenant}/items.jsonl; returns its key."""
    key = catalog_key(tenant)
    storage.write_bytes(key, encode_catalog(rows))
    return key


def read_catalog(storage: Storage, tenant: str) -> pl.DataFrame:
    """The tenant's catalog as a frame; NotFoundError when it was never written."""
    key = catalog_key(tenant)
    return decode_catalog(storage.read_bytes(key), storage.uri_for(key))

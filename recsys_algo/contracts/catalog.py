"""The tenant catalog (catalog/{tenant}/items.jsonl): validated JSON lines in, a frame out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec
import polars as pl

from recsys_algo.contracts.errors import DataSourceError
from recsys_algo.contracts.events import MAX_ID_CHARS

CATALOG_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.String(),
    "tags": pl.List(pl.String()),
    "title": pl.String(),
    "surface": pl.String(),
}


class CatalogItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of catalog/{tenant}/items.jsonl."""

    item_id: str
    tags: list[str] = msgspec.field(default_factory=list)
    title: str | None = None
    surface: str | None = None


_CATALOG_DECODER = msgspec.json.Decoder(CatalogItem)
_ENCODER = msgspec.json.Encoder()


def _check_item(item: CatalogItem, where: str) -> CatalogItem:
    text = item.item_id
    if not text or len(text) > MAX_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise DataSourceError(
            f"{where}: item_id must be 1..{MAX_ID_CHARS} characters without control characters"
        )
    if any(not tag for tag in item.tags):
        raise DataSourceError(f"{where}: tags must be non-empty strings")
    return item


def encode_catalog(rows: Iterable[Mapping[str, object] | CatalogItem]) -> bytes:
    """Catalog JSON lines; every row is validated and item_ids must be unique."""
    items: list[CatalogItem] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        where = f"catalog row {index}"
        try:
            item = row if isinstance(row, CatalogItem) else msgspec.convert(row, CatalogItem)
        except msgspec.ValidationError as exc:
            raise DataSourceError(f"{where}: {exc}") from None
        _check_item(item, where)
        if item.item_id in seen:
            raise DataSourceError(f"{where}: item_id {item.item_id!r} appears twice")
        seen.add(item.item_id)
        items.append(item)
    return _ENCODER.encode_lines(items)


def decode_catalog(data: bytes, source: str) -> pl.DataFrame:
    """Catalog bytes -> frame in CATALOG_SCHEMA; a bad line raises DataSourceError naming it."""
    columns: dict[str, list[object]] = {name: [] for name in CATALOG_SCHEMA}
    seen: set[str] = set()
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{source} line {lineno}"
        try:
            item = _check_item(_CATALOG_DECODER.decode(raw), where)
        except msgspec.DecodeError as exc:
            raise DataSourceError(f"{where}: {exc}") from None
        except UnicodeDecodeError as exc:  # msgspec raises it for bad UTF-8 inside a string
            raise DataSourceError(
                f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        if item.item_id in seen:
            raise DataSourceError(f"{where}: item_id {item.item_id!r} appears twice")
        seen.add(item.item_id)
        for name in CATALOG_SCHEMA:
            columns[name].append(getattr(item, name))
    return pl.DataFrame(columns, schema=CATALOG_SCHEMA)

"""Landing zone and catalog IO over the Storage interface: what sources write, what ingest reads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

import msgspec
import polars as pl

from recsys_algo.errors import ConfigError, DataSourceError
from recsys_algo.events import MAX_ID_CHARS
from recsys_algo.layout import catalog_key, raw_prefix
from recsys_algo.storage import Storage

LANDING_SUFFIX = ".jsonl"
LANDING_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,194}\.jsonl$"
_LANDING_NAME_RE = re.compile(LANDING_NAME_PATTERN)
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


def check_landing_name(name: str) -> str:
    """A plain file name ending in .jsonl (no folders, no leading dot, no '..')."""
    if not isinstance(name, str) or not _LANDING_NAME_RE.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"landing file name {str(name)[:80]!r} is invalid: "
            f"it must match {LANDING_NAME_PATTERN} and not contain '..'"
        )
    return name


def write_landing_file(
    storage: Storage, tenant: str, surface: str, day: dt.date, name: str, data: bytes
) -> str:
    """Write (or atomically replace) one landing file; returns its storage key."""
    key = f"{raw_prefix(tenant, surface, day)}/{check_landing_name(name)}"
    storage.write_bytes(key, data)
    return key


def read_landing_files(
    storage: Storage, tenant: str, surface: str, day: dt.date
) -> list[tuple[str, bytes]]:
    """(name, bytes) of the day's *.jsonl files, sorted by name; other files are ignored."""
    prefix = f"{raw_prefix(tenant, surface, day)}/"
    names = sorted(
        key[len(prefix) :]
        for key in storage.list(prefix)
        if key.startswith(prefix) and "/" not in key[len(prefix) :] and key.endswith(LANDING_SUFFIX)
    )
    return [(name, storage.read_bytes(prefix + name)) for name in names]


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


def write_catalog(
    storage: Storage, tenant: str, rows: Iterable[Mapping[str, object] | CatalogItem]
) -> str:
    """Validate and atomically replace catalog/{tenant}/items.jsonl; returns its key."""
    key = catalog_key(tenant)
    storage.write_bytes(key, encode_catalog(rows))
    return key


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


def read_catalog(storage: Storage, tenant: str) -> pl.DataFrame:
    """The tenant's catalog as a frame; NotFoundError when it was never written."""
    key = catalog_key(tenant)
    return decode_catalog(storage.read_bytes(key), storage.uri_for(key))

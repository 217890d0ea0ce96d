"""Reading canonical events: one day's file, its row count, the trailing window of days."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl
import pyarrow.parquet as pq

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.errors import ConfigError, DataSourceError, NotFoundError
from recsys_algo.contracts.names import Partition, parse_day
from recsys_algo.store.storage import Storage


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_canonical(storage: Storage, tenant: str, surface: str, day: dt.date) -> bytes | None:
    key = layout.canonical_key(tenant, surface, day)
    try:
        return storage.read_bytes(key)
    except NotFoundError:
        return None


def parquet_rows(data: bytes) -> int:
    return int(pq.read_metadata(io.BytesIO(data)).num_rows)


def canonical_days(storage: Storage, tenant: str, surface: str) -> list[dt.date]:
    """Every day of the scope with canonical events, oldest first (one listing)."""
    prefix = layout.canonical_prefix(tenant, surface)
    days = []
    for key in storage.list(prefix):
        name = key[len(prefix) :].removesuffix(".parquet")
        if "/" not in name and key.endswith(".parquet"):
            try:
                days.append(parse_day(name))
            except ConfigError:
                continue  # not a file the pipeline wrote
    return sorted(days)


def prior_rows(storage: Storage, p: Partition, days: int) -> list[tuple[dt.date, int]]:
    """(day, rows) of the last `days` canonical days that exist before p.day, newest first."""
    before = [day for day in canonical_days(storage, p.tenant, p.surface) if day < p.day]
    counts = []
    for day in reversed(before[-days:]):
        prior = read_canonical(storage, p.tenant, p.surface, day)
        if prior is not None:
            counts.append((day, parquet_rows(prior)))
    return counts


def _window_files(
    storage: Storage, p: Partition, window_days: int
) -> Iterator[tuple[dt.date, bytes]]:
    """Canonical bytes of the window's days that exist, oldest first, one at a time (memory
    follows the largest day); the partition day must exist (DataSourceError after the rest)."""
    start, last = p.day - dt.timedelta(days=window_days - 1), None
    for offset in range(window_days):
        day = start + dt.timedelta(days=offset)
        data = read_canonical(storage, p.tenant, p.surface, day)
        if data is not None:
            last = day
            yield day, data
    if last != p.day:
        raise DataSourceError(f"{p.label}: canonical_events for the partition day is missing")


def window_fingerprints(storage: Storage, p: Partition, window_days: int) -> dict[str, str]:
    """Day -> sha256 of the canonical events of the window's days that exist (not decoded)."""
    return {day.isoformat(): sha256(data) for day, data in _window_files(storage, p, window_days)}


@dataclass
class EventWindow:
    start: dt.date
    end: dt.date
    frame: pl.DataFrame
    inputs: dict[str, str] = field(default_factory=dict)  # day -> canonical sha256

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def window_start(p: Partition, window_days: int) -> dt.date:
    return p.day - dt.timedelta(days=window_days - 1)


def read_window(
    storage: Storage, p: Partition, window_days: int, columns: Sequence[str] | None = None
) -> EventWindow:
    """Canonical events of the trailing window ending at p.day; days never built are skipped.

    columns: keep only these (a 28-day window is tens of millions of rows: memory matters).
    """
    frames, inputs = [], {}
    for day, data in _window_files(storage, p, window_days):
        day_frame = from_parquet_bytes(data)
        frames.append(day_frame if columns is None else day_frame.select(columns))
        inputs[day.isoformat()] = sha256(data)
    return EventWindow(
        window_start(p, window_days), p.day, pl.concat(frames, how="vertical"), inputs
    )

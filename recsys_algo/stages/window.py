"""Reading canonical events: one day's file, its row count, the trailing window of days."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl
import pyarrow.parquet as pq

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import from_parquet_bytes
from recsys_algo.contracts.errors import DataSourceError, NotFoundError
from recsys_algo.contracts.names import Partition
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


def prior_rows(storage: Storage, p: Partition, days: int) -> list[int]:
    """Row counts of the canonical days before p.day, newest first; days never built are absent."""
    counts = []
    for back in range(1, days + 1):
        prior = read_canonical(storage, p.tenant, p.surface, p.day - dt.timedelta(days=back))
        if prior is not None:
            counts.append(parquet_rows(prior))
    return counts


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


def window_fingerprints(storage: Storage, p: Partition, window_days: int) -> dict[str, str]:
    """day -> sha256 of the canonical days of the window that exist (what read_window would
    read), one file at a time: memory follows the largest day."""
    start, inputs = window_start(p, window_days), {}
    for offset in range(window_days):
        day = start + dt.timedelta(days=offset)
        data = read_canonical(storage, p.tenant, p.surface, day)
        if data is not None:
            inputs[day.isoformat()] = sha256(data)
    return inputs


def read_window(
    storage: Storage, p: Partition, window_days: int, columns: Sequence[str] | None = None
) -> EventWindow:
    """Canonical events of the trailing window ending at p.day; days never built are skipped.

    columns: keep only these (a 28-day window is tens of millions of rows: memory matters).
    """
    start = window_start(p, window_days)
    frames, inputs = [], {}
    for offset in range(window_days):
        day = start + dt.timedelta(days=offset)
        data = read_canonical(storage, p.tenant, p.surface, day)
        if data is not None:
            day_frame = from_parquet_bytes(data)
            frames.append(day_frame if columns is None else day_frame.select(columns))
            inputs[day.isoformat()] = sha256(data)
    if p.day.isoformat() not in inputs:
        raise DataSourceError(f"{p.label}: canonical_events for the partition day is missing")
    return EventWindow(start, p.day, pl.concat(frames, how="vertical"), inputs)

"""An import's events as landing files: one JSON-lines file per UTC day, written a day at a time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import Storage

CHUNK_ROWS = 200_000
# Characters a landing file name may hold (contracts.layout.LANDING_NAME_PATTERN); others -> "-".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM_CHARS = 100


def day_files(
    events: pl.DataFrame, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[dt.date, bytes]]:
    """(day, JSON lines) per day of events sorted by day, serialised a chunk of days at a time.

    `events` holds the raw event columns plus "day". One write_ndjson call per chunk rather
    than per day: a call costs ~0.3 ms, and histories span thousands of days; chunks keep
    memory bounded for large data sets.
    """
    counts = events.group_by("day", maintain_order=True).len()
    days: list[dt.date] = counts["day"].to_list()
    lengths: list[int] = counts["len"].to_list()
    first_row = first_day = 0
    while first_day < len(days):
        last_day, rows = first_day, 0
        while last_day < len(days) and (rows == 0 or rows + lengths[last_day] <= chunk_rows):
            rows += lengths[last_day]
            last_day += 1
        chunk = events.slice(first_row, rows).drop("day").write_ndjson().encode()
        # JSON escapes newlines inside strings, so every b"\n" ends a row.
        line_ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n")) + 1
        if line_ends.size != rows:
            raise AssertionError(f"ndjson chunk has {line_ends.size} lines for {rows} rows")
        ends = line_ends[np.cumsum(lengths[first_day:last_day]) - 1].tolist()
        for day, start, end in zip(days[first_day:last_day], [0, *ends], ends, strict=False):
            yield day, chunk[start:end]
        first_row += rows
        first_day = last_day


@dataclass(frozen=True)
class DaysWritten:
    days: int
    first_day: dt.date
    last_day: dt.date


def write_days(
    storage: Storage, tenant: str, surface: str, events: pl.DataFrame, name: str
) -> DaysWritten:
    """Write raw/{tenant}/{surface}/{day}/{name} for every day of `events` (sorted by day).

    Re-importing the same events replaces each file with identical bytes.
    """
    written = 0
    for day, lines in day_files(events):
        write_landing_file(storage, tenant, surface, day, name, lines)
        written += 1
    return DaysWritten(written, *first_and_last_day(events))


def first_and_last_day(events: pl.DataFrame) -> tuple[dt.date, dt.date]:
    first, last = events["day"].min(), events["day"].max()
    if not isinstance(first, dt.date) or not isinstance(last, dt.date):
        raise AssertionError(f"events have no days ({first!r}..{last!r})")
    return first, last


def landing_name_for(path: Path) -> str:
    """A landing file name from a source file's name: `train-item-views.csv` -> `.jsonl`.

    Two sources imported into one scope keep apart as long as their file names differ.
    """
    stem = _UNSAFE.sub("-", path.name.split(".", 1)[0]).strip("-._")[:MAX_STEM_CHARS]
    return f"{stem or 'import'}.jsonl"

"""Idempotent canonicalization: dedupe by event_id, stable order, deterministic parquet bytes."""

from __future__ import annotations

import io

import polars as pl
import pyarrow.parquet as pq

from recsys_algo.contracts.events import CANONICAL_SCHEMA

_SORT_KEY = ["ts", "event_id", "source_file", "source_line"]
ROW_GROUP_ROWS = 1 << 17  # rows per row group of a file written a part at a time


def _kept_rows(keys: pl.DataFrame) -> pl.Series:
    """Indices of the rows canonical keeps, in canonical order: stably sorted by _SORT_KEY,
    then the first of each event_id (an arg sort and a first-seen mask: no sorted copy)."""
    by = [k for k in _SORT_KEY if k in keys.columns]
    order = keys.select(pl.arg_sort_by(by, maintain_order=True)).to_series()
    return order.filter(keys.get_column("event_id").gather(order).is_first_distinct())


def canonicalize(staging: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Return (canonical frame, duplicates removed); the first occurrence in stable order wins.

    Accepts canonical frames too (no source columns), so canonicalize(canonical) == canonical.
    """
    kept = _kept_rows(staging)
    canonical = staging.select(
        [pl.col(n).gather(kept).cast(t) for n, t in CANONICAL_SCHEMA.items()]
    )
    return canonical, staging.height - kept.len()


def canonicalize_parquet(data: bytes) -> tuple[pl.DataFrame, int]:
    """canonicalize(from_parquet_bytes(data)), without holding the staged frame: the kept
    rows come from the key columns alone, then each column is read and gathered on its own."""
    source = io.BytesIO(data)
    names = pl.read_parquet_schema(source)
    kept = _kept_rows(pl.read_parquet(source, columns=[k for k in _SORT_KEY if k in names]))
    columns = []
    for name, dtype in CANONICAL_SCHEMA.items():
        column = pl.read_parquet(source, columns=[name]).to_series()
        columns.append(column.gather(kept).cast(dtype))
        del column  # one staged column at a time
    return pl.DataFrame(columns), pq.read_metadata(source).num_rows - kept.len()


class RowGroupWriter:
    """Parquet bytes of frames appended in order, written ROW_GROUP_ROWS rows at a time: a
    writer holds a row group, not the file's rows, and the bytes depend on the rows alone,
    not on how they were cut into frames."""

    def __init__(self, schema: dict[str, pl.DataType], rows_per_group: int | None = None):
        self._buffer = io.BytesIO()
        self._schema = schema
        arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
        self._writer = pq.ParquetWriter(
            self._buffer, arrow_schema, compression="zstd", compression_level=3
        )
        self._rows = rows_per_group or ROW_GROUP_ROWS
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0

    def append(self, frame: pl.DataFrame) -> None:
        if dict(frame.schema) != self._schema:
            raise ValueError(f"rows of schema {dict(frame.schema)}, expected {self._schema}")
        self._pending.append(frame)
        self._pending_rows += frame.height
        while self._pending_rows >= self._rows:
            rows = pl.concat(self._pending)
            self._write(rows.slice(0, self._rows))
            rest = rows.slice(self._rows)
            self._pending, self._pending_rows = [rest], rest.height

    def _write(self, rows: pl.DataFrame) -> None:
        if rows.height:
            self._writer.write_table(rows.to_arrow(), row_group_size=self._rows)

    def close(self) -> bytes:
        """The file's bytes (a file of no row group when no row was appended)."""
        if self._pending:
            self._write(pl.concat(self._pending))
            self._pending = []
        self._writer.close()
        return self._buffer.getvalue()


def to_parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=3, statistics=True)
    return buffer.getvalue()


def from_parquet_bytes(data: bytes) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data))


def schema_problems(frame: pl.DataFrame) -> list[str]:
    """Differences between frame's schema and the canonical one, as readable sentences."""
    problems = []
    actual = dict(frame.schema)
    for name, dtype in CANONICAL_SCHEMA.items():
        if name not in actual:
            problems.append(f"column {name} is missing")
        elif actual[name] != dtype:
            problems.append(f"column {name} is {actual[name]}, expected {dtype}")
    problems.extend(f"unexpected column {n}" for n in actual if n not in CANONICAL_SCHEMA)
    return problems

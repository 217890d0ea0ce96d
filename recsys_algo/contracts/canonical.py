"""Idempotent canonicalization: dedupe by event_id, stable order, deterministic parquet bytes."""

from __future__ import annotations

import io

import polars as pl

from recsys_algo.contracts.events import CANONICAL_SCHEMA

_SORT_KEY = ["ts", "event_id", "source_file", "source_line"]


def canonicalize(staging: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Return (canonical frame, duplicates removed); the first occurrence in stable order wins.

    Accepts canonical frames too (no source columns), so canonicalize(canonical) == canonical.
    """
    ordered = staging.sort([k for k in _SORT_KEY if k in staging.columns], maintain_order=True)
    deduped = ordered.unique(subset=["event_id"], keep="first", maintain_order=True)
    canonical = deduped.select([pl.col(n).cast(t) for n, t in CANONICAL_SCHEMA.items()])
    return canonical, staging.height - deduped.height


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

"""The per-line parse_files loop as it was before the column-wise paths: the oracle every bulk
path of events.parse_files is compared with (tests/unit/test_events.py, test_event_scan.py);
and canonicalization as it was before it went column by column."""

from __future__ import annotations

import datetime as dt
import io
from typing import cast

import msgspec
import polars as pl

from recsys_algo.contracts.canonical import to_parquet_bytes
from recsys_algo.contracts.event_rules import quarantined_line
from recsys_algo.contracts.events import (
    CANONICAL_SCHEMA,
    STAGING_SCHEMA,
    ParseResult,
    Rejected,
    day_bounds_ms,
    parse_files,
    parse_line,
)
from tests.support.builders import DAY


def reference_parse_files(
    files: list[tuple[str, bytes]], tenant: str, surface: str, day: dt.date
) -> tuple[pl.DataFrame, list[dict[str, object]], int, int]:
    """The per-line parse_files loop as it was before the column-wise path (kept as an oracle)."""
    bounds = day_bounds_ms(day)
    rows: dict[str, list[object]] = {name: [] for name in STAGING_SCHEMA}
    columns = list(rows.values())
    rejected: list[dict[str, object]] = []
    blank_lines = lines = 0
    for name, content in files:
        for lineno, raw in enumerate(content.splitlines(), start=1):
            if not raw.strip():
                blank_lines += 1
                continue
            lines += 1
            try:
                values = (*parse_line(raw, tenant, surface, bounds), name, lineno)
            except Rejected as rej:
                rejected.append(
                    {
                        "file": name,
                        "line": lineno,
                        "reason": rej.reason,
                        "detail": rej.detail,
                        **quarantined_line(raw),
                    }
                )
                continue
            for column, value in zip(columns, values, strict=True):
                column.append(value)
    frame = pl.DataFrame(rows, schema={**STAGING_SCHEMA, "ts": pl.Int64()}).with_columns(
        pl.col("ts").cast(STAGING_SCHEMA["ts"])
    )
    return frame, rejected, lines, blank_lines


def reference_canonicalize_parquet(data: bytes) -> tuple[pl.DataFrame, int]:
    """Canonicalization as it was before it read the staged file a column at a time: the
    whole frame sorted, then deduplicated by event_id (the first in that order kept)."""
    staging = pl.read_parquet(io.BytesIO(data))
    keys = [k for k in ("ts", "event_id", "source_file", "source_line") if k in staging.columns]
    ordered = staging.sort(keys, maintain_order=True)
    deduped = ordered.unique(subset=["event_id"], keep="first", maintain_order=True)
    canonical = deduped.select([pl.col(n).cast(t) for n, t in CANONICAL_SCHEMA.items()])
    return canonical, staging.height - deduped.height


class ReferenceLineParser:
    """events.LineParser's interface over the per-line oracle (a block's lines numbered from
    first_line), for runs of ingest_partition through the oracle."""

    def __init__(self, tenant: str, surface: str, day: dt.date) -> None:
        self.tenant, self.surface, self.day = tenant, surface, day
        self.result = ParseResult()

    def rows(self, name: str, content: bytes, first_line: int = 1) -> tuple[pl.DataFrame, int]:
        frame, rejected, lines, blank_lines = reference_parse_files(
            [(name, content)], self.tenant, self.surface, self.day
        )
        shift = first_line - 1
        self.result.rejected += [r | {"line": int(cast(int, r["line"])) + shift} for r in rejected]
        self.result.lines += lines
        self.result.blank_lines += blank_lines
        staged = frame.with_columns(source_line=pl.col("source_line") + shift)
        return staged, len(content.splitlines())


def assert_same_as_reference(
    files: list[tuple[str, bytes]], day: dt.date = DAY, tenant: str = "demo", surface: str = "home"
) -> ParseResult:
    result = parse_files(files, tenant, surface, day)
    frame, rejected, lines, blank_lines = reference_parse_files(files, tenant, surface, day)
    assert result.frame().equals(frame)
    assert to_parquet_bytes(result.frame()) == to_parquet_bytes(frame)
    assert msgspec.json.encode(result.rejected) == msgspec.json.encode(rejected)
    assert (result.lines, result.blank_lines) == (lines, blank_lines)
    return result

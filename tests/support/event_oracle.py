"""The per-line parse_files loop as it was before the column-wise paths: the oracle every bulk
path of events.parse_files is compared with (tests/unit/test_events.py, test_event_scan.py)."""

from __future__ import annotations

import datetime as dt

import msgspec
import polars as pl

from recsys_algo.contracts.canonical import to_parquet_bytes
from recsys_algo.contracts.event_rules import quarantined_line
from recsys_algo.contracts.events import (
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

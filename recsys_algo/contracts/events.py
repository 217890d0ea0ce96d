"""The raw event contract: parse landing lines into typed rows or quarantine them with a reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from recsys_algo.contracts import event_scan
from recsys_algo.contracts.event_rules import (
    CANONICAL_COLUMNS,
    EVENT_TYPES,
    MAX_ID_CHARS,
    MAX_LINE_BYTES,
    RawEvent,
    Rejected,
    day_bounds_ms,
    derive_event_id,
    parse_line,
    parse_ts,
    quarantined_line,
)
from recsys_algo.contracts.names import check_name

__all__ = [
    "CANONICAL_SCHEMA",
    "EVENT_TYPES",
    "MAX_ID_CHARS",
    "MAX_LINE_BYTES",
    "STAGING_SCHEMA",
    "ParseResult",
    "RawEvent",
    "Rejected",
    "day_bounds_ms",
    "derive_event_id",
    "parse_files",
    "parse_line",
    "parse_ts",
]

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "ts": pl.Datetime("ms", "UTC"),
    "tenant": pl.String(),
    "surface": pl.String(),
    "user_id": pl.String(),
    "session_id": pl.String(),
    "item_id": pl.String(),
    "event_type": pl.String(),
    "value": pl.Float64(),
    "request_id": pl.String(),
    "rank": pl.Int32(),
}
if tuple(CANONICAL_SCHEMA) != CANONICAL_COLUMNS:  # not an assert: -O must not skip it
    raise RuntimeError("event_rules.CANONICAL_COLUMNS and CANONICAL_SCHEMA disagree")
# Staging rows remember where they came from so deduplication is deterministic.
STAGING_SCHEMA: dict[str, pl.DataType] = {
    **CANONICAL_SCHEMA,
    "source_file": pl.String(),
    "source_line": pl.Int64(),
}
_ROW_SCHEMA = {**STAGING_SCHEMA, "ts": pl.Int64(), "rank": pl.Int64(), "seq": pl.Int64()}
_SOURCE = {"source_file": pl.String(), "source_line": pl.Int64()}


@dataclass
class ParseResult:
    staged: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=STAGING_SCHEMA))
    rejected: list[dict[str, object]] = field(default_factory=list)
    blank_lines: int = 0
    lines: int = 0

    @property
    def reasons(self) -> dict[str, int]:
        return dict(sorted(Counter(str(r["reason"]) for r in self.rejected).items()))

    def frame(self) -> pl.DataFrame:
        """Staging rows in line order, in STAGING_SCHEMA."""
        return self.staged


# The one RFC 3339 shape writers use. Strings of this shape whose fields are in range get their
# epoch ms here, column-wise; any other string goes to parse_ts, which decides alone (so the
# accepted set is exactly parse_ts's, this only has to agree with it where it answers).
_RFC3339 = (
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})[Tt]"
    r"(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))$"
)
_CONTROL = r"[\x00-\x1f\x7f]"


def _rfc3339_ms(frame: pl.DataFrame, text: str) -> pl.Series:
    """Epoch ms of strings in the common RFC 3339 shape with fields in range, else null."""
    names = ("y", "mo", "d", "h", "mi", "s", "oh", "om")
    parts = frame.select(pl.col(text).str.extract_groups(_RFC3339)).unnest(text)
    parts = parts.with_columns(pl.col(names).cast(pl.Int64))
    y, mo, d, h, mi, s, oh, om = (pl.col(n) for n in names)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = (
        pl.when(mo == 2)
        .then(28 + leap.cast(pl.Int64))
        .when(mo.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    sign = pl.col("sign")
    in_range = (
        y.is_between(1, 9999)
        & mo.is_between(1, 12)
        & d.is_between(1, month_days)
        & (h <= 23)
        & (mi <= 59)
        & (s <= 59)
        & (sign.is_null() | ((oh <= 23) & (om <= 59)))
    )
    # Days from the civil date (H. Hinnant's algorithm; years here are >= 0).
    yy = y - (mo <= 2).cast(pl.Int64)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * ((mo + 9) % 12) + 2) // 5 + d - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    offset = (pl.when(sign == "-").then(-1).otherwise(1) * (oh * 3600 + om * 60)).fill_null(0)
    # Truncated to ms like parse_ts: the first three fraction digits, right-padded.
    frac_ms = (pl.col("f") + "00").str.slice(0, 3).cast(pl.Int64).fill_null(0)
    ms = (days * 86_400 + h * 3600 + mi * 60 + s - offset) * 1000 + frac_ms
    return parts.select(pl.when(in_range).then(ms)).to_series()


def _valid_id(name: str) -> pl.Expr:
    col = pl.col(name)
    return col.is_null() | (
        col.str.len_chars().is_between(1, MAX_ID_CHARS) & ~col.str.contains(_CONTROL)
    )


def _fast_rows(
    columns: pl.DataFrame, tenant: str, surface: str, bounds: tuple[int, int]
) -> tuple[pl.DataFrame, pl.Series]:
    """Rows every rule accepts, computed column-wise (event_scan.COLUMNS_SCHEMA and `seq`
    in), and a mask of the lines that passed."""
    checked = columns.with_columns(ts=pl.coalesce(pl.col("ts_int"), _rfc3339_ms(columns, "ts_str")))
    ok = (
        pl.col("ts").is_between(bounds[0], bounds[1], closed="left")
        & pl.col("event_type").is_in(EVENT_TYPES)
        & (pl.col("value").is_null() | pl.col("value").is_finite())
        & (pl.col("rank").is_null() | (pl.col("rank") >= 0))
        & (pl.col("tenant").is_null() | (pl.col("tenant") == tenant))
        & (pl.col("surface").is_null() | (pl.col("surface") == surface))
        & pl.col("item_id").is_not_null()
    )
    for name in ("user_id", "session_id", "item_id", "request_id", "event_id"):
        ok = ok & _valid_id(name)
    mask = checked.select(ok.fill_null(False)).to_series()
    rows = checked.filter(mask).with_columns(tenant=pl.lit(tenant), surface=pl.lit(surface))
    missing = rows["event_id"].is_null()
    if missing.any():
        content = rows.filter(missing).select(
            "ts", "tenant", "surface", "user_id", "session_id", "item_id",
            "event_type", "value", "request_id", "rank",
        )  # fmt: skip
        derived = [derive_event_id(row) for row in content.iter_rows()]
        event_ids = rows["event_id"].clone()
        event_ids.scatter(missing.arg_true(), derived)
        rows = rows.with_columns(event_id=event_ids)
    return rows, mask


class LineParser:
    """Landing lines of one day parsed a block of whole lines at a time: each block's staged
    rows come back in line order, its rejected lines are appended to result.rejected and its
    lines counted in result (result.staged is left empty: the caller keeps or writes the rows).

    The outcome is that of parse_line on each line. Most lines are decoded and decided
    column-wise in bulk, a chunk of the file at a time (event_scan); the rest (every line
    some rule rejects, and rare shapes such as escaped strings or float timestamps) go
    through parse_line itself, which also writes the quarantine reason and detail.
    """

    def __init__(self, tenant: str, surface: str, day: dt.date) -> None:
        self.tenant, self.surface = check_name("tenant", tenant), check_name("surface", surface)
        self.bounds = day_bounds_ms(day)
        self.result = ParseResult()

    def rows(self, name: str, content: bytes, first_line: int = 1) -> tuple[pl.DataFrame, int]:
        """(STAGING_SCHEMA rows, number of lines) of content: whole lines of file `name`, the
        first of them its line first_line."""
        parts, count = [], 0
        for chunk in event_scan.chunks(content, first_line=first_line):
            rows, lines = _parse_chunk(
                chunk, name, self.result, self.tenant, self.surface, self.bounds
            )
            parts.append(rows)
            self.result.lines += lines
            self.result.blank_lines += chunk.starts.size - lines
            count += chunk.starts.size
        rows = pl.concat(parts) if parts else pl.DataFrame(schema=_STAGED_ROWS)
        staged = rows.with_columns(
            ts=pl.col("ts").cast(STAGING_SCHEMA["ts"]), rank=pl.col("rank").cast(pl.Int32())
        ).select(list(STAGING_SCHEMA))
        return staged, count


def parse_files(
    files: Iterable[tuple[str, bytes]], tenant: str, surface: str, day: dt.date
) -> ParseResult:
    """Parse landing files (name, content); every non-blank line is kept or rejected
    (LineParser's outcome, every row in result.staged)."""
    parser = LineParser(tenant, surface, day)
    parts = [parser.rows(name, content)[0] for name, content in files]
    result = parser.result
    if parts:
        result.staged = pl.concat(parts).rechunk()
    return result


_ROW_COLUMNS = [c for c in _ROW_SCHEMA if not c.startswith("source_")]
_STAGED_ROWS = {**{c: _ROW_SCHEMA[c] for c in _ROW_COLUMNS}, **_SOURCE}


def _parse_chunk(
    chunk: event_scan.Chunk,
    name: str,
    result: ParseResult,
    tenant: str,
    surface: str,
    bounds: tuple[int, int],
) -> tuple[pl.DataFrame, int]:
    """(the chunk's staged rows in line order, its non-blank lines); rejected lines are
    appended to result.rejected."""
    columns, lines = event_scan.scan(chunk)
    fast, passed = _fast_rows(columns, tenant, surface, bounds)
    slow_rows: list[tuple[object, ...]] = []
    done = columns.filter(passed)["seq"].to_numpy()
    for seq in np.setdiff1d(lines, done, assume_unique=True).tolist():
        raw = chunk.line(seq)
        try:
            slow_rows.append((*parse_line(raw, tenant, surface, bounds), seq))
        except Rejected as rej:
            result.rejected.append(
                {
                    "file": name,
                    "line": chunk.first_line + seq,
                    "reason": rej.reason,
                    "detail": rej.detail,
                    **quarantined_line(raw),
                }
            )
    rows = fast.select(_ROW_COLUMNS)
    if slow_rows:
        schema = {c: _ROW_SCHEMA[c] for c in _ROW_COLUMNS}
        rows = pl.concat([rows, pl.DataFrame(slow_rows, schema=schema, orient="row")]).sort("seq")
    rows = rows.with_columns(
        source_file=pl.lit(name, pl.String()), source_line=pl.col("seq") + chunk.first_line
    )
    return rows, lines.size

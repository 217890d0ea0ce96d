"""The raw event contract: parse landing lines into typed rows or quarantine them with a reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec
import polars as pl

from recsys_algo.contracts.event_rules import (
    CANONICAL_COLUMNS,
    DECODER,
    EVENT_TYPES,
    MAX_ID_CHARS,
    MAX_LINE_BYTES,
    MAX_MS,
    MIN_MS,
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
_RANK_LIMIT = 2**31
# Stands in for a line that did not decode, so columns stay aligned; its ts sends it to the
# per-line path, which reports the real reason.
_UNDECODED = RawEvent(ts=-1, item_id="")


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


def _optional_ids(values: list[str | int | None]) -> list[str | int | None] | list[str | None]:
    if int not in set(map(type, values)):  # the usual case: a C-speed scan, no copy
        return values
    return [v if v is None or v.__class__ is str else str(v) for v in values]


def _columns(events: list[RawEvent]) -> pl.DataFrame:
    """Decoded events as columns; values the column checks cannot hold are made to fail them."""
    ts = [e.ts for e in events]
    ranks = [e.rank for e in events]
    return pl.DataFrame(
        {
            "ts_int": [v if v.__class__ is int and MIN_MS <= v <= MAX_MS else None for v in ts],
            "ts_str": [v if v.__class__ is str else None for v in ts],
            "tenant": [e.tenant for e in events],
            "surface": [e.surface for e in events],
            "user_id": _optional_ids([e.user_id for e in events]),
            "session_id": _optional_ids([e.session_id for e in events]),
            "item_id": _optional_ids([e.item_id for e in events]),
            "event_type": [e.event_type for e in events],
            "value": [e.value for e in events],
            "event_id": [e.event_id for e in events],
            "request_id": _optional_ids([e.request_id for e in events]),
            # An out-of-range rank (any size of int) becomes -1, which fails the check below.
            "rank": [r if r is None or 0 <= r < _RANK_LIMIT else -1 for r in ranks],
        },
        schema={
            "ts_int": pl.Int64(),
            "ts_str": pl.String(),
            **{n: STAGING_SCHEMA[n] for n in ("tenant", "surface", "user_id", "session_id")},
            **{n: STAGING_SCHEMA[n] for n in ("item_id", "event_type", "value", "event_id")},
            "request_id": pl.String(),
            "rank": pl.Int64(),
        },
    )


def _fast_rows(
    events: list[RawEvent], tenant: str, surface: str, bounds: tuple[int, int]
) -> tuple[pl.DataFrame, pl.Series]:
    """Rows every rule accepts, computed column-wise, and a mask of the lines that passed."""
    columns = _columns(events)
    checked = columns.with_columns(
        ts=pl.coalesce(pl.col("ts_int"), _rfc3339_ms(columns, "ts_str")),
        seq=pl.int_range(pl.len(), dtype=pl.Int64),
    )
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


def _decode_all(lines: list[bytes]) -> list[RawEvent]:
    events = []
    for raw in lines:
        if len(raw) > MAX_LINE_BYTES:
            events.append(_UNDECODED)
            continue
        try:
            events.append(DECODER.decode(raw))
        except (msgspec.DecodeError, UnicodeDecodeError):
            events.append(_UNDECODED)
    return events


def parse_files(
    files: Iterable[tuple[str, bytes]], tenant: str, surface: str, day: dt.date
) -> ParseResult:
    """Parse landing files (name, content); every non-blank line is kept or rejected.

    The outcome is that of parse_line on each line. Most lines are decided column-wise in
    bulk; the rest (every line some rule rejects, and rare shapes such as float timestamps)
    go through parse_line itself, which also writes the quarantine reason and detail.
    """
    check_name("tenant", tenant)
    check_name("surface", surface)
    bounds = day_bounds_ms(day)
    result = ParseResult()
    names: list[str] = []
    file_index: list[int] = []
    line_numbers: list[int] = []
    lines: list[bytes] = []
    for index, (name, content) in enumerate(files):
        names.append(name)
        split = content.splitlines()
        numbers = [n for n, raw in enumerate(split, start=1) if raw.strip()]
        result.blank_lines += len(split) - len(numbers)
        line_numbers += numbers
        lines += split if len(numbers) == len(split) else [split[n - 1] for n in numbers]
        file_index += [index] * len(numbers)
    result.lines = len(lines)

    fast, passed = _fast_rows(_decode_all(lines), tenant, surface, bounds)
    slow_rows: list[tuple[object, ...]] = []
    for seq in (~passed).arg_true().to_list():
        raw = lines[seq]
        try:
            slow_rows.append((*parse_line(raw, tenant, surface, bounds), seq))
        except Rejected as rej:
            result.rejected.append(
                {
                    "file": names[file_index[seq]],
                    "line": line_numbers[seq],
                    "reason": rej.reason,
                    "detail": rej.detail,
                    **quarantined_line(raw),
                }
            )
    columns = [c for c in _ROW_SCHEMA if not c.startswith("source_")]
    rows = fast.select(columns)
    if slow_rows:
        slow = pl.DataFrame(slow_rows, schema={c: _ROW_SCHEMA[c] for c in columns}, orient="row")
        rows = pl.concat([rows, slow]).sort("seq")
    seq = rows["seq"]
    result.staged = (
        rows.with_columns(
            ts=pl.col("ts").cast(STAGING_SCHEMA["ts"]),
            rank=pl.col("rank").cast(pl.Int32()),
            source_file=pl.Series(names, dtype=pl.String()).gather(
                pl.Series(file_index, dtype=pl.Int64()).gather(seq)
            ),
            source_line=pl.Series(line_numbers, dtype=pl.Int64()).gather(seq),
        )
        .select(list(STAGING_SCHEMA))
        .rechunk()
    )
    return result

"""Landing lines in bulk, without a Python object per line: a file is cut into chunks of whole
lines, each chunk's lines become one polars column (Arrow buffers over the file's bytes), and
the lines in the one plain shape writers produce are decoded by polars' NDJSON reader into the
columns events.parse_files checks.

The plain shape is what polars and msgspec (parse_line's decoder) read alike, by construction:
an object of the event's own keys, each once, with `, ` / `: ` or no spaces; strings without
escapes or control characters; integers in canonical form of at most 18 digits (so an int id
reads as the same text as `str(int)`); `value` a decimal of at most 7 + 8 digits (exact in any
float parser); `null` only where the field may be null; at most MAX_LINE_BYTES. Any other line
(escapes, floats elsewhere, unknown or repeated keys, invalid UTF-8, a lone CR as line end...)
gets a row of nulls here, fails the column checks and goes to parse_line, which decides it
alone; tests/unit/test_event_scan.py compares the outcome with parse_line's line by line.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from recsys_algo.contracts.event_rules import MAX_LINE_BYTES, MAX_MS, MIN_MS

CHUNK_BYTES = 16 << 20  # lines are decided a chunk at a time: memory follows the chunk
_RANK_LIMIT = 2**31

_S = r'"[^"\\\x00-\x1f]*"'  # a string without escapes or control characters
_I = r"(?:0|-?[1-9][0-9]{0,17})"  # a canonical integer that fits int64 (no -0)
_F = r"-?(?:0|[1-9][0-9]{0,6})(?:\.[0-9]{1,8})?"  # at most 15 digits: exact in every parser
_NULL = "null"
_VALUES = {
    "ts": (_S, _I),
    "item_id": (_S, _I),
    "tenant": (_S, _NULL),
    "surface": (_S, _NULL),
    "user_id": (_S, _I, _NULL),
    "session_id": (_S, _I, _NULL),
    "event_type": (_S,),
    "value": (_F, _NULL),
    "event_id": (_S, _NULL),
    "request_id": (_S, _NULL),
    "rank": (_I, _NULL),
}
_PAIR = "|".join(f'"{key}": ?(?:{"|".join(values)})' for key, values in _VALUES.items())
_PLAIN = rf"^\{{(?:{_PAIR})(?:, ?(?:{_PAIR}))*\}}(?:\r?\n)?$"
# Read as text where the JSON may hold a string or an integer: polars reads the integer's digits.
_DECODED = {key: pl.String() for key in _VALUES} | {"value": pl.Float64(), "rank": pl.Int64()}

# What parse_files checks column-wise (events._fast_rows), one row per non-blank line.
COLUMNS_SCHEMA: dict[str, pl.DataType] = {
    "ts_int": pl.Int64(),
    "ts_str": pl.String(),
    **{k: pl.String() for k in ("tenant", "surface", "user_id", "session_id", "item_id")},
    "event_type": pl.String(),
    "value": pl.Float64(),
    "event_id": pl.String(),
    "request_id": pl.String(),
    "rank": pl.Int64(),
}


@dataclass(frozen=True)
class Chunk:
    """Whole lines of one file: data[starts[i]:stops[i]] is line first_line + i, without its
    line end (bytes.splitlines() semantics: LF, CRLF or a lone CR)."""

    data: bytes | memoryview
    starts: np.ndarray
    stops: np.ndarray
    first_line: int

    def line(self, i: int) -> bytes:
        return bytes(self.data[int(self.starts[i]) : int(self.stops[i])])


def _bounds(view: memoryview, has_cr: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, stop without line end, start of the next line) of each line in view."""
    arr = np.frombuffer(view, dtype=np.uint8)
    newline = np.flatnonzero(arr == 10)
    if has_cr:
        cr = np.flatnonzero(arr == 13)
        lone = cr[(cr + 1 >= arr.size) | (arr[np.minimum(cr + 1, arr.size - 1)] != 10)]
        crlf = cr[np.isin(cr + 1, newline)]
        ends = np.union1d(newline, lone)
        stops = ends.copy()
        stops[np.isin(ends, crlf + 1)] -= 1  # the CR of a CRLF belongs to the line end
    else:
        ends = stops = newline
    nexts = ends + 1
    starts = np.r_[0, nexts].astype(np.int64)  # one more than there are line ends
    if starts[-1] < arr.size:  # a last line without a line end
        stops = np.r_[stops, arr.size]
        nexts = np.r_[nexts, arr.size]
    else:
        starts = starts[:-1]
    return starts, stops.astype(np.int64), nexts.astype(np.int64)


def chunks(content: bytes, size: int | None = None, first_line: int = 1) -> Iterator[Chunk]:
    """The lines of content (whole lines of a file, its line first_line first), a chunk of
    about `size` (CHUNK_BYTES) bytes at a time, cut after a line feed."""
    size = size or CHUNK_BYTES
    view, pos, line = memoryview(content), 0, first_line
    while pos < len(content):
        cut = content.find(b"\n", min(pos + size, len(content)) - 1)
        end = len(content) if cut < 0 else cut + 1
        starts, stops, _ = _bounds(view[pos:end], content.find(b"\r", pos, end) >= 0)
        yield Chunk(view[pos:end], starts, stops, line)
        line += starts.size
        pos = end


def _utf8_data(chunk: Chunk) -> bytes | memoryview:
    """The chunk's bytes for polars: as they are when all UTF-8 (the usual case), else a copy
    where each line that is not reads as "?"s (never plain, never blank: parse_line decides
    it from the original bytes)."""
    try:
        codecs.utf_8_decode(chunk.data, "strict", True)
    except UnicodeDecodeError:
        pass
    else:
        return chunk.data
    copy = bytearray(chunk.data)
    for start, stop in zip(chunk.starts.tolist(), chunk.stops.tolist(), strict=True):
        try:
            codecs.utf_8_decode(copy[start:stop], "strict", True)
        except UnicodeDecodeError:
            copy[start:stop] = b"?" * (stop - start)
    return memoryview(copy)


def _lines(chunk: Chunk) -> pl.Series:
    """Each line with its line end as one String value, without a copy per line."""
    _, _, nexts = _bounds_of(chunk)
    offsets = np.r_[chunk.starts[:1], nexts].astype(np.int64)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(_utf8_data(chunk))]
    array = pa.Array.from_buffers(pa.large_string(), chunk.starts.size, buffers)
    return pl.Series("line", array)


def _bounds_of(chunk: Chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nexts = np.r_[chunk.starts[1:], len(chunk.data)].astype(np.int64)
    return chunk.starts, chunk.stops, nexts


def _non_blank(chunk: Chunk) -> np.ndarray:
    """Indices of the chunk's lines that hold more than whitespace."""
    arr = np.frombuffer(chunk.data, dtype=np.uint8)
    opens = np.zeros(chunk.starts.size, dtype=bool)  # then: not blank
    filled = chunk.stops > chunk.starts
    opens[filled] = arr[chunk.starts[filled]] == ord("{")
    for i in np.flatnonzero(~opens).tolist():  # rare: one by one, as bytes.strip() sees them
        opens[i] = bool(chunk.line(i).strip())
    return np.flatnonzero(opens).astype(np.int64)


def scan(chunk: Chunk) -> tuple[pl.DataFrame, np.ndarray]:
    """(COLUMNS_SCHEMA rows of the lines in the plain shape, with `seq`: the line's index in
    the chunk; the indices of every non-blank line). The other non-blank lines are for
    parse_line."""
    lines = _non_blank(chunk)
    text = pl.DataFrame(
        {
            "seq": lines,
            "line": text if lines.size == len(text := _lines(chunk)) else text.gather(lines),
            "short": (chunk.stops - chunk.starts)[lines] <= MAX_LINE_BYTES,
        }
    )
    line = pl.col("line")
    plain = text.filter(pl.col("short") & line.str.contains(_PLAIN)).select(
        "seq",
        "line",
        keys=line.str.count_matches('":', literal=True),
        ts_text=line.str.contains('"ts": ?"'),
    )
    if plain.height == 0:
        return pl.DataFrame(schema={**COLUMNS_SCHEMA, "seq": pl.Int64()}), lines
    decoded = pl.concat([plain, _decode(chunk, plain["seq"].to_numpy())], how="horizontal")
    return _columns(_without_repeats(decoded)), lines


def _without_repeats(decoded: pl.DataFrame) -> pl.DataFrame:
    """Plain lines where a key repeats are dropped (polars keeps a repeated key's first value,
    msgspec its last: parse_line decides them). A plain line's keys are `"key":` exactly, each
    a known one, so a line with as many keys as non-null values repeats none; the others (an
    explicit null, or a repeat) are counted key by key."""
    values = pl.sum_horizontal(pl.col(k).is_not_null() for k in _VALUES)
    unsure = decoded.select((pl.col("keys") != values).arg_true()).to_series()
    if unsure.len() == 0:
        return decoded
    line = pl.col("line")
    distinct = pl.sum_horizontal(line.str.contains(f'"{key}":', literal=True) for key in _VALUES)
    repeats = decoded[unsure].filter(pl.col("keys") != distinct)["seq"]
    return decoded.filter(~pl.col("seq").is_in(repeats.implode()))


def _decode(chunk: Chunk, plain: np.ndarray) -> pl.DataFrame:
    """polars' NDJSON reader over the plain lines, in runs of consecutive lines."""
    _, _, nexts = _bounds_of(chunk)
    breaks = np.flatnonzero(np.diff(plain) != 1) + 1
    first = plain[np.r_[0, breaks]]
    last = plain[np.r_[breaks - 1, plain.size - 1]]
    runs = [
        chunk.data[int(a) : int(b)] for a, b in zip(chunk.starts[first], nexts[last], strict=True)
    ]
    joined = bytes(runs[0]) if len(runs) == 1 else b"\n".join(runs)
    return pl.read_ndjson(io.BytesIO(joined), schema=_DECODED)


def _columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Decoded plain lines -> COLUMNS_SCHEMA (as events built them from msgspec's RawEvent)."""
    ok = pl.col("ts").is_not_null() & pl.col("item_id").is_not_null()
    ts_int = pl.col("ts").cast(pl.Int64(), strict=False)
    return frame.select(
        "seq",
        ts_int=pl.when(ok & ~pl.col("ts_text") & ts_int.is_between(MIN_MS, MAX_MS)).then(ts_int),
        ts_str=pl.when(ok & pl.col("ts_text")).then(pl.col("ts")),
        tenant="tenant",
        surface="surface",
        user_id="user_id",
        session_id="session_id",
        item_id="item_id",
        event_type=pl.col("event_type").fill_null("exposure"),
        value="value",
        event_id="event_id",
        request_id="request_id",
        rank=pl.when(
            pl.col("rank").is_between(0, _RANK_LIMIT, closed="left") | pl.col("rank").is_null()
        )
        .then(pl.col("rank"))
        .otherwise(-1),
    )

"""Rules for one raw event line: decode, check and normalise it, or say why it is rejected."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import msgspec

# The fields of parse_line's tuple, in order: the canonical columns (events.CANONICAL_SCHEMA).
CANONICAL_COLUMNS = (
    "event_id", "ts", "tenant", "surface", "user_id", "session_id", "item_id", "event_type",
    "value", "request_id", "rank",
)  # fmt: skip

EVENT_TYPES = ("exposure", "click", "add_to_cart", "purchase", "rating")
MAX_LINE_BYTES = 64 * 1024
# What a quarantine record keeps of a line over MAX_LINE_BYTES (with its length and digest).
QUARANTINE_EXCERPT_BYTES = 1024
MAX_ID_CHARS = 256
# Epoch-millisecond timestamps outside this range are almost surely seconds or garbage.
MIN_MS = 0
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# gc=False: fields are scalars, so no cycles; bulk decoding then skips GC tracking of 1M objects.
class RawEvent(msgspec.Struct, kw_only=True, gc=False):
    ts: str | int | float
    item_id: str | int
    tenant: str | None = None
    surface: str | None = None
    user_id: str | int | None = None
    session_id: str | int | None = None
    event_type: str = "exposure"
    value: float | None = None
    event_id: str | None = None
    request_id: str | None = None
    rank: int | None = None


DECODER = msgspec.json.Decoder(RawEvent)


def too_long(size: int) -> str:
    """The quarantine detail of a line over MAX_LINE_BYTES."""
    return f"line has {size} bytes, limit {MAX_LINE_BYTES}"


def long_line_record(excerpt: bytes, size: int, sha256: str) -> dict[str, object]:
    """What a quarantine record keeps of a line over MAX_LINE_BYTES: an excerpt of at most
    QUARANTINE_EXCERPT_BYTES, its length and digest (a few KiB, whatever the line holds)."""
    text = excerpt[:QUARANTINE_EXCERPT_BYTES].decode("utf-8", "ignore")  # no half character
    return {"raw": text, "truncated": True, "bytes": size, "sha256": sha256}


def quarantined_line(raw: bytes) -> dict[str, object]:
    """A rejected line's part of its quarantine record: the line itself up to MAX_LINE_BYTES,
    past that long_line_record (escapes would otherwise multiply a huge line by up to 6)."""
    if len(raw) <= MAX_LINE_BYTES:
        return {"raw": raw.decode("utf-8", "backslashreplace")}
    return long_line_record(raw, len(raw), hashlib.sha256(raw).hexdigest())


class Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_ts(value: str | int | float) -> int:
    """RFC 3339 string (with offset) or epoch milliseconds -> epoch milliseconds."""
    if isinstance(value, str):
        try:
            # RFC 3339 allows lower-case 't' and 'z'; fromisoformat does not.
            parsed = dt.datetime.fromisoformat(value.upper())
        except ValueError:
            raise Rejected("invalid_ts", f"ts {value[:64]!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            raise Rejected("invalid_ts", f"ts {value[:64]!r} has no UTC offset")
        return (parsed - _EPOCH) // dt.timedelta(milliseconds=1)
    if not math.isfinite(value) or not MIN_MS <= value <= MAX_MS:
        raise Rejected("invalid_ts", f"ts {value!r} is out of range for epoch milliseconds")
    return int(value)


def _id(name: str, value: str | int | None, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise Rejected("invalid_id", f"{name} is required")
        return None
    text = str(value)
    if not text or len(text) > MAX_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise Rejected(
            "invalid_id", f"{name} must be 1..{MAX_ID_CHARS} characters without control characters"
        )
    return text


def derive_event_id(fields: tuple[object, ...]) -> str:
    """Deterministic id from the normalised content, so identical events dedupe."""
    return "d-" + hashlib.sha256(msgspec.json.encode(fields)).hexdigest()[:32]


def _scope(name: str, given: str | None, expected: str) -> str:
    if given is not None and given != expected:
        raise Rejected(f"{name}_mismatch", f"{name} {given[:64]!r} does not match {expected!r}")
    return expected


def parse_line(
    raw: bytes, tenant: str, surface: str, day_ms: tuple[int, int]
) -> tuple[object, ...]:
    """One line -> a canonical tuple in CANONICAL_SCHEMA order, or raise Rejected."""
    if len(raw) > MAX_LINE_BYTES:
        raise Rejected("line_too_long", too_long(len(raw)))
    try:
        event = DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise Rejected("schema", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise Rejected("invalid_json", str(exc)) from None
    except UnicodeDecodeError as exc:  # msgspec raises it for bad UTF-8 inside a string
        raise Rejected("invalid_json", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    ts = parse_ts(event.ts)
    if not day_ms[0] <= ts < day_ms[1]:
        raise Rejected("ts_outside_partition", f"ts {event.ts!r} is outside the partition day")
    if event.event_type not in EVENT_TYPES:
        raise Rejected(
            "invalid_event_type",
            f"event_type {event.event_type[:32]!r} is not one of {', '.join(EVENT_TYPES)}",
        )
    if event.value is not None and not math.isfinite(event.value):
        raise Rejected("invalid_value", "value must be a finite number")
    if event.rank is not None and not 0 <= event.rank < 2**31:
        raise Rejected("invalid_rank", "rank must be an integer in 0..2^31-1")
    content = (
        ts,
        _scope("tenant", event.tenant, tenant),
        _scope("surface", event.surface, surface),
        _id("user_id", event.user_id),
        _id("session_id", event.session_id),
        _id("item_id", event.item_id, required=True),
        event.event_type,
        event.value,
        _id("request_id", event.request_id),
        event.rank,
    )
    event_id = _id("event_id", event.event_id) or derive_event_id(content)
    return (event_id, *content)


def day_bounds_ms(day: dt.date) -> tuple[int, int]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return int(start.timestamp() * 1000), int(start.timestamp() * 1000) + 86_400_000

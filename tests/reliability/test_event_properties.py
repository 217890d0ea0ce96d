"""Property tests of ingest and canonicalization, through the pipeline's own partition code.

Landing files mix valid events, single-fault lines whose reason is known (far-future and
out-of-order timestamps, missing fields, unicode and over-long ids, huge ranks, foreign
scopes), duplicate ids, and arbitrary JSON, unicode text and bytes. Whatever they hold:
every non-blank line is either a staged row or a quarantine record with a documented reason
(never both, never neither), the counts add up at each step, canonical rows are the
first-in-order occurrence of each event id, and a rerun writes byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tempfile
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts import layout
from recsys_algo.contracts.canonical import canonicalize, from_parquet_bytes, to_parquet_bytes
from recsys_algo.contracts.events import STAGING_SCHEMA
from recsys_algo.contracts.names import Partition
from recsys_algo.stages.ingest import canonicalize_partition, ingest_partition
from recsys_algo.stages.staging import STAGED_EVENTS
from recsys_algo.store.landing import write_landing_file
from recsys_algo.store.storage import FileStorage
from tests.support.builders import DAY, DAY_START_MS, SURFACE, TENANT
from tests.support.strategies import raw_events

# The contract's limits (docs/contracts.md), written out rather than imported, so that a
# change of the code's constants is caught here.
EVENT_TYPES = ("exposure", "click", "add_to_cart", "purchase", "rating")
MAX_ID_CHARS = 256
MAX_LINE_BYTES = 64 * 1024
QUARANTINE_EXCERPT_BYTES = 1024
MAX_MS = int(dt.datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=dt.UTC).timestamp() * 1000)
DAY_END_MS = DAY_START_MS + 86_400_000
PARTITION = Partition(TENANT, SURFACE, DAY)
# docs/contracts.md, "Every other line is quarantined ... with one of these reasons".
REASONS = {
    "invalid_json", "schema", "invalid_ts", "ts_outside_partition", "tenant_mismatch",
    "surface_mismatch", "invalid_event_type", "invalid_id", "invalid_value", "invalid_rank",
    "line_too_long",
}  # fmt: skip
ACCEPT = "accept"
ANY = "any"  # accepted, or quarantined with any documented reason
BLANK = "blank"

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_any_char = st.characters(codec="utf-8")  # every code point but surrogates, controls included
_unicode = st.one_of(
    st.text(_any_char, max_size=8),
    st.text(_any_char, min_size=MAX_ID_CHARS - 2, max_size=MAX_ID_CHARS + 2),
    st.tuples(st.text(max_size=3), st.sampled_from("\x00\t\x1f\x7f"), st.text(max_size=3)).map(
        "".join
    ),
)
_FIELDS = ("ts", "item_id", "user_id", "session_id", "event_type", "value", "rank", "event_id",
           "request_id", "tenant", "surface")  # fmt: skip


def _id_reason(text: str) -> str:
    ok = 0 < len(text) <= MAX_ID_CHARS and not any(ord(c) < 32 or ord(c) == 127 for c in text)
    return ACCEPT if ok else "invalid_id"


def _ts_reason(ms: int) -> str:
    if not 0 <= ms <= MAX_MS:
        return "invalid_ts"
    return ACCEPT if DAY_START_MS <= ms < DAY_END_MS else "ts_outside_partition"


def _rfc3339(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _far_ts(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)


@st.composite
def _single_fault(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid event with one field changed, and the outcome the contract gives it."""
    event = draw(raw_events())
    fault = draw(st.sampled_from(sorted(_FAULTS)))
    return _FAULTS[fault](draw, event)


def _set(event: dict[str, Any], name: str, value: Any, outcome: str) -> tuple[dict[str, Any], str]:
    return {**event, name: value}, outcome


def _drop(event: dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    return {k: v for k, v in event.items() if k != name}, "schema"


def _ts_ms(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    ms = draw(
        st.one_of(
            st.integers(0, DAY_START_MS - 1),  # earlier days: out of order across partitions
            st.integers(DAY_END_MS, MAX_MS),  # later days, up to year 9999
            st.integers(MAX_MS + 1, 2**62),  # beyond year 9999: not a timestamp
            st.integers(-(2**62), -1),
            st.sampled_from([DAY_START_MS - 1, DAY_START_MS, DAY_END_MS - 1, DAY_END_MS, MAX_MS]),
        )
    )
    return _set(event, "ts", ms, _ts_reason(ms))


def _ts_text(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    ms = draw(st.integers(0, MAX_MS))
    return _set(event, "ts", _rfc3339(_far_ts(ms)), _ts_reason(ms))


def _id_field(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    name = draw(st.sampled_from(["item_id", "user_id", "session_id", "request_id", "event_id"]))
    text = draw(_unicode)
    return _set(event, name, text, _id_reason(text))


def _int_id(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    name = draw(st.sampled_from(["item_id", "user_id", "session_id"]))
    return _set(event, name, draw(st.integers(-(2**63), 2**63 - 1)), ACCEPT)


def _rank(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    rank = draw(st.integers(-(2**63), 2**63 - 1) | st.sampled_from([-1, 0, 2**31 - 1, 2**31]))
    return _set(event, "rank", rank, ACCEPT if 0 <= rank < 2**31 else "invalid_rank")


def _value(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return _set(event, "value", draw(st.floats(allow_nan=False, allow_infinity=False)), ACCEPT)


def _event_type(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    kind = draw(st.sampled_from(EVENT_TYPES) | st.text(max_size=12))
    return _set(event, "event_type", kind, ACCEPT if kind in EVENT_TYPES else "invalid_event_type")


def _scope(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    name, own = draw(st.sampled_from([("tenant", TENANT), ("surface", SURFACE)]))
    given_name = draw(st.just(own) | st.text(max_size=12))
    return _set(event, name, given_name, ACCEPT if given_name == own else f"{name}_mismatch")


def _duplicate_id(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return _set(event, "event_id", draw(st.sampled_from(["dup-0", "dup-1", "dup-2"])), ACCEPT)


def _missing(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return _drop(event, draw(st.sampled_from(["ts", "item_id"])))


def _too_long(draw: st.DrawFn, event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return _set(event, "padding", "x" * draw(st.integers(MAX_LINE_BYTES, MAX_LINE_BYTES + 9)),
                "line_too_long")  # fmt: skip


_FAULTS: dict[str, Callable[[st.DrawFn, dict[str, Any]], tuple[dict[str, Any], str]]] = {
    "ts_ms": _ts_ms, "ts_text": _ts_text, "id": _id_field, "int_id": _int_id, "rank": _rank,
    "value": _value, "event_type": _event_type, "scope": _scope, "duplicate_id": _duplicate_id,
    "missing": _missing, "too_long": _too_long,
}  # fmt: skip


@st.composite
def _arbitrary_field(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(raw_events())
    return {**event, draw(st.sampled_from(_FIELDS)): draw(_json)}


def _encode(event: Any) -> bytes:
    return msgspec.json.encode(event)


def _one_line(line: bytes) -> bytes:
    return line.replace(b"\n", b" ").replace(b"\r", b" ")


_lines = st.one_of(
    raw_events().map(lambda e: (_encode(e), ACCEPT)),
    _single_fault().map(lambda pair: (_encode(pair[0]), pair[1])),
    _arbitrary_field().map(lambda e: (_encode(e), ANY)),
    _json.map(lambda v: (_encode(v), ANY)),
    st.text(max_size=40).map(lambda t: (t.encode(), ANY)),
    st.binary(max_size=40).map(lambda b: (b, ANY)),
    st.sampled_from([b"", b"   ", b"\t"]).map(lambda b: (b, BLANK)),
).map(lambda pair: (_one_line(pair[0]), BLANK if not pair[0].strip() else pair[1]))


@st.composite
def landing(draw: st.DrawFn) -> list[tuple[str, list[tuple[bytes, str]]]]:
    """1..3 landing files of (line, expected outcome); some lines repeat earlier ones."""
    lines = draw(st.lists(_lines, min_size=1, max_size=40))
    for _ in range(draw(st.integers(0, 3))):
        lines.append(lines[draw(st.integers(0, len(lines) - 1))])  # exact duplicates
    # The same id given to different events (one client retrying with other content).
    reused = st.sampled_from(["dup-0", "dup-1"])
    events = draw(st.lists(st.builds(lambda e, i: {**e, "event_id": i}, raw_events(), reused),
                           max_size=6))  # fmt: skip
    lines += [(_encode(e), ACCEPT) for e in events]
    lines = draw(st.permutations(lines))
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=2)))
    bounds = [0, *cuts, len(lines)]
    return [(f"part-{n}.jsonl", lines[a:b]) for n, (a, b) in enumerate(itertools.pairwise(bounds))]


def _run(root: Path, files: list[tuple[str, bytes]]) -> tuple[FileStorage, Any, Any]:
    storage = FileStorage(root)
    for name, content in files:
        write_landing_file(storage, TENANT, SURFACE, DAY, name, content)
    return storage, ingest_partition(storage, PARTITION), canonicalize_partition(storage, PARTITION)


def _read(storage: FileStorage, key: str) -> bytes:
    return storage.read_bytes(key) if storage.exists(key) else b""


def _check_row(row: dict[str, Any]) -> None:
    ms = int(row["ts"].timestamp() * 1000)
    assert DAY_START_MS <= ms < DAY_END_MS, row
    assert (row["tenant"], row["surface"]) == (TENANT, SURFACE)
    assert row["event_type"] in EVENT_TYPES
    for name in ("event_id", "item_id", "user_id", "session_id", "request_id"):
        optional = name not in ("event_id", "item_id")
        assert (optional and row[name] is None) or _id_reason(row[name]) == ACCEPT, (name, row)
    assert row["rank"] is None or 0 <= row["rank"] < 2**31
    assert row["value"] is None or math.isfinite(row["value"])


@settings(max_examples=150, deadline=None)
@given(landing())
def test_every_line_is_staged_or_quarantined_and_reruns_are_identical(
    files: list[tuple[str, list[tuple[bytes, str]]]],
) -> None:
    contents = [(name, b"".join(line + b"\n" for line, _ in lines)) for name, lines in files]
    expected = {
        (name, number): outcome
        for name, lines in files
        for number, (_, outcome) in enumerate(lines, start=1)
        if outcome != BLANK
    }
    with tempfile.TemporaryDirectory() as tmp:
        storage, ingest, canonical = _run(Path(tmp) / "a", contents)
        staged = from_parquet_bytes(
            storage.read_bytes(layout.staging_key(TENANT, SURFACE, DAY, STAGED_EVENTS))
        )
        quarantine_key = layout.quarantine_key(TENANT, SURFACE, DAY)
        quarantine = [msgspec.json.decode(r) for r in _read(storage, quarantine_key).splitlines()]

        # Every non-blank line lands in exactly one place, with the outcome the contract gives.
        staged_at = list(zip(staged["source_file"], staged["source_line"], strict=True))
        rejected_at = [(r["file"], r["line"]) for r in quarantine]
        assert sorted(staged_at + rejected_at) == sorted(expected)
        for at in staged_at:
            assert expected[at] in (ACCEPT, ANY), (at, expected[at])
        lines = {(name, n): line for name, ls in files for n, (line, _) in enumerate(ls, start=1)}
        for record in quarantine:
            at = (record["file"], record["line"])
            assert record["reason"] in REASONS
            assert expected[at] in (record["reason"], ANY), (at, record, lines[at][:200])
            if record.get("truncated"):  # over MAX_LINE_BYTES: an excerpt, length and digest
                line = lines[at]
                assert (record["bytes"], record["sha256"]) == (len(line), sha256(line).hexdigest())
                assert len(record["raw"].encode()) <= QUARANTINE_EXCERPT_BYTES
                assert line.decode("utf-8", "backslashreplace").startswith(record["raw"])
            else:
                assert record["raw"] == lines[at].decode("utf-8", "backslashreplace")
            assert record["detail"]
        for row in staged.to_dicts():
            _check_row(row)

        # Counts add up at each step.
        blanks = sum(outcome == BLANK for _, ls in files for _, outcome in ls)
        assert (ingest.lines, ingest.blank_lines) == (len(expected), blanks)
        assert (ingest.rows, ingest.quarantined) == (staged.height, len(quarantine))
        assert sum(ingest.reasons.values()) == ingest.quarantined
        assert canonical.rows + canonical.duplicates == staged.height

        # Canonical rows: one per event id, the first in (ts, event_id, file, line) order.
        data = storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY))
        frame = from_parquet_bytes(data)
        assert frame.height == canonical.rows == staged["event_id"].n_unique()
        first = staged.sort(["ts", "event_id", "source_file", "source_line"]).unique(
            "event_id", keep="first", maintain_order=True
        )
        assert frame.to_dicts() == first.drop("source_file", "source_line").to_dicts()
        assert frame.select("ts", "event_id").rows() == sorted(
            frame.select("ts", "event_id").rows()
        )

        # Reruns and re-canonicalization write the same bytes; so does another landing order.
        quarantine_bytes = _read(storage, quarantine_key)
        _, again, recanonical = _run(Path(tmp) / "a", contents)
        assert (again, recanonical) == (ingest, canonical)
        assert storage.read_bytes(layout.canonical_key(TENANT, SURFACE, DAY)) == data
        assert _read(storage, quarantine_key) == quarantine_bytes
        assert to_parquet_bytes(canonicalize(frame)[0]) == data
        other, _, reversed_run = _run(Path(tmp) / "b", contents[::-1])
        assert reversed_run.sha256 == canonical.sha256
        assert _read(other, quarantine_key) == quarantine_bytes

        # Quarantined lines change nothing: with them removed, a rerun over the same store
        # writes the same canonical bytes and leaves no quarantine file behind.
        rejected = set(rejected_at)
        cleaned = [
            (
                name,
                b"".join(
                    line + b"\n" for n, (line, _) in enumerate(ls, 1) if (name, n) not in rejected
                ),
            )
            for name, ls in files
        ]
        _, fixed, fixed_canonical = _run(Path(tmp) / "a", cleaned)
        assert (fixed.rows, fixed.quarantined) == (ingest.rows, 0)
        assert fixed_canonical.sha256 == canonical.sha256
        assert not storage.exists(quarantine_key)


def test_the_strategy_reaches_every_outcome() -> None:
    """The property above is only as good as its inputs: each outcome must be generated."""
    seen: set[str] = set()

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(_single_fault())
    def collect(pair: tuple[dict[str, Any], str]) -> None:
        seen.add(pair[1])

    collect()
    assert seen == REASONS - {"invalid_json", "invalid_value"} | {ACCEPT}


def test_staged_rows_keep_the_staging_schema_for_an_all_bad_day() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage, ingest, canonical = _run(Path(tmp), [("a.jsonl", b"{oops\n[1]\n")])
        staged = from_parquet_bytes(
            storage.read_bytes(layout.staging_key(TENANT, SURFACE, DAY, STAGED_EVENTS))
        )
    assert (ingest.rows, ingest.quarantined, canonical.rows) == (0, 2, 0)
    assert staged.height == 0
    assert staged.schema == pl.Schema(STAGING_SCHEMA)

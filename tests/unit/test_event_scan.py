"""The bulk path of parse_files (event_scan): lines in the plain shape decoded by polars, every
other line decided by parse_line, the outcome equal to the per-line oracle's line by line, on
lines near the plain shape's edges, at chunk edges, and on the shared data sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts import event_scan, events
from recsys_algo.contracts.events import MAX_LINE_BYTES, parse_files
from recsys_algo.sources.diginetica.importer import import_diginetica
from recsys_algo.sources.movielens.importer import import_movielens
from recsys_algo.sources.synthetic.generator import generate_day
from recsys_algo.store import landing
from recsys_algo.store.storage import FileStorage
from tests.support.builders import DAY, DAY_START_MS
from tests.support.event_oracle import assert_same_as_reference
from tests.support.shared_data import DIGINETICA, ML_100K, ML_LATEST_SMALL, shared_data

TS = DAY_START_MS + 3_600_000


def line(*pairs: str, sep: str = ",") -> bytes:
    return ("{" + sep.join(pairs) + "}").encode()


# Each is decided by parse_line alone or read alike by both parsers; all must match the oracle.
EDGES = [
    line(f'"ts":{TS}', '"item_id":"a"'),  # plain
    line(f'"ts": {TS}', '"item_id": "a"', sep=", "),  # plain, json.dumps spacing
    line(f'"ts":{TS}', '"item_id":"a"', '"item_id":"b"'),  # repeated key: msgspec keeps b
    line(f'"ts":{TS}', '"item_id":"a"', '"user_id":null', '"user_id":"u"'),  # null, then value
    line(f'"ts":{TS}', '"item_id":"a"', '"user_id":"u"', '"user_id":null'),
    line(f'"ts":{TS}', '"item_id":"a"', '"event_type":null'),  # null where a string must be
    line(f'"ts":{TS}', '"item_id":"a"', '"event_type":"click"', '"rank":null', '"value":null'),
    line(f'"ts":"{TS}"', '"item_id":"a"'),  # digits as a string: not epoch ms
    line(f'"ts":{TS}.0', '"item_id":"a"'),
    line(f'"ts":{TS}e0', '"item_id":"a"'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":-0'),  # -0 is "0" for str(int)
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":12345678901234567890'),  # 20 digits
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":123456789012345678'),  # 18 digits
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"value":0.1234567890123456789'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"value":1234567.12345678'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"value":1e400'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"value":-0.0'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a\\"b"'),  # escapes
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"\\u00e9t\\u00e9"'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"été"'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a\tb"'),  # raw tab inside a string
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"extra":{"x":[1,2]}'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"request_id":7'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"rank":2147483648'),
    line('"ts":"2026-11-20T10:00:00Z"', '"item_id":"a"', '"rank":true'),
    line('"ts":"2026-11-20T10:00:00Z"'),  # no item_id
    line('"item_id":"a"'),  # no ts
    b'\t{"ts":"2026-11-20T10:00:00Z","item_id":"a"}',
    b'{"ts":"2026-11-20T10:00:00Z" ,"item_id":"a"}',
    b'\xef\xbb\xbf{"ts":"2026-11-20T10:00:00Z","item_id":"a"}',  # BOM
    b'{"ts":"2026-11-20T10:00:00Z","item_id":"\xff"}',  # not UTF-8
    b'{"ts":"2026-11-20T10:00:00Z","item_id":"' + b"x" * (MAX_LINE_BYTES - 40) + b'"}',
    b'{"ts":"2026-11-20T10:00:00Z","item_id":"' + b"x" * (MAX_LINE_BYTES - 39) + b'"}',
    b"[]",
    b"null",
    b"{}",
    b"   ",
]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(event_scan, "CHUNK_BYTES", 150)
    yield


def test_lines_at_the_edges_of_the_plain_shape_are_decided_as_by_the_per_line_parser() -> None:
    for end in (b"\n", b"\r\n", b"\r"):
        content = end.join(EDGES) + end
        assert_same_as_reference([("a.jsonl", content), ("b.jsonl", content.rstrip())])


def test_chunk_edges_never_split_or_renumber_a_line(small_chunks: None) -> None:
    content = b"\n".join([*EDGES[:3], b"", *EDGES[3:8]])
    mixed = b"\r\n".join(EDGES[8:14]) + b"\r" + b"\n".join(EDGES[14:20])
    assert_same_as_reference([("a.jsonl", content), ("b.jsonl", mixed), ("c.jsonl", b"")])


def test_plain_lines_never_reach_the_per_line_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    data = generate_day(3, DAY, "demo", "home", events_per_day=3000, bad_line_rate=0.01)
    parsed: list[bytes] = []
    real = events.parse_line

    def spy(raw: bytes, *args: Any) -> tuple[object, ...]:
        parsed.append(raw)
        return real(raw, *args)

    monkeypatch.setattr(events, "parse_line", spy)
    result = parse_files([("s.jsonl", data)], "demo", "home", DAY)
    # Only the planted bad lines (and their rare float-ts cousins) take the slow path.
    assert len(result.rejected) <= len(parsed) < 2 * len(result.rejected) + 5
    assert result.frame().height > 2500


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
_values = st.one_of(
    _text,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.integers(DAY_START_MS - 5, DAY_START_MS + 86_400_005),
    st.sampled_from(["2026-11-20T01:02:03.004Z", "2026-11-20T23:59:59.999+00:00", "click"]),
)
_keys = st.sampled_from([*event_scan.COLUMNS_SCHEMA, "ts", "value", "other"])


@st.composite
def plainish_lines(draw: st.DrawFn) -> bytes:
    """Objects of event keys (some repeated or unknown), values of every JSON type, in the
    spacings writers use: mostly the plain shape, often just outside it."""
    pairs = draw(st.lists(st.tuples(_keys, _values), max_size=8))
    if draw(st.booleans()):
        pairs = [("ts", TS + draw(st.integers(0, 9))), ("item_id", draw(_text)), *pairs]
    colon, comma = draw(st.sampled_from([(":", ","), (": ", ", "), (": ", ","), (" :", " , ")]))
    body = comma.join(
        msgspec.json.encode(k).decode() + colon + msgspec.json.encode(v).decode() for k, v in pairs
    )
    return ("{" + body + "}").encode()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(plainish_lines(), st.binary(max_size=12), st.just(b"")), min_size=1, max_size=25
    ),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.integers(20, 400),
)
def test_any_plainish_file_is_decided_as_by_the_per_line_parser(
    lines: list[bytes], end: bytes, chunk: int
) -> None:
    lines = [x.replace(b"\n", b"").replace(b"\r", b"") for x in lines]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(event_scan, "CHUNK_BYTES", chunk)
        assert_same_as_reference([("a.jsonl", end.join(lines))])


def _landing_files(storage: FileStorage, tenant: str) -> Iterator[tuple[dt.date, list[Any]]]:
    days = sorted({key.split("/")[3] for key in storage.list(f"raw/{tenant}/home/")})
    for day in days[:: max(1, len(days) // 12)]:  # a dozen days spread over the log
        date = dt.date.fromisoformat(day)
        yield date, landing.read_landing_files(storage, tenant, "home", date)


@pytest.mark.parametrize("name", [ML_LATEST_SMALL, ML_100K, DIGINETICA])
def test_shared_data_sets_parse_as_by_the_per_line_parser(name: str, tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "store")
    if name == DIGINETICA:
        import_diginetica(shared_data(name), storage, "t", "home")
    else:
        import_movielens(shared_data(name), storage, "t", "home")
    checked = 0
    for day, files in _landing_files(storage, "t"):
        checked += assert_same_as_reference(files, day, "t", "home").lines
    assert checked > 0

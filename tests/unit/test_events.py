from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_algo.contracts.errors import InvalidName
from recsys_algo.contracts.events import (
    MAX_ID_CHARS,
    MAX_LINE_BYTES,
    STAGING_SCHEMA,
    ParseResult,
    Rejected,
    day_bounds_ms,
    parse_files,
    parse_ts,
)
from recsys_algo.sources.synthetic.generator import generate_day
from tests.support.builders import DAY, DAY_START_MS, raw_event, raw_file, raw_line
from tests.support.event_oracle import assert_same_as_reference
from tests.support.strategies import raw_events

DAY_END_MS = DAY_START_MS + 86_400_000


def parse(*lines: bytes, name: str = "a.jsonl") -> ParseResult:
    return parse_files([(name, b"\n".join(lines))], "demo", "home", DAY)


def only_row(result: ParseResult) -> dict[str, Any]:
    assert result.rejected == []
    rows = result.frame().to_dicts()
    assert len(rows) == 1
    return rows[0]


def only_reason(line: bytes) -> str:
    result = parse(line)
    assert result.frame().height == 0
    assert len(result.rejected) == 1
    return str(result.rejected[0]["reason"])


def test_every_documented_field_is_parsed() -> None:
    row = only_row(
        parse(
            raw_line(
                ts="2026-11-20T10:15:30.250Z",
                tenant="demo",
                surface="home",
                user_id="u1",
                session_id="s1",
                item_id="i9",
                event_type="purchase",
                value=12.5,
                event_id="ev-1",
                request_id="r1",
                rank=3,
            )
        )
    )
    assert row == {
        "event_id": "ev-1",
        "ts": dt.datetime(2026, 11, 20, 10, 15, 30, 250_000, tzinfo=dt.UTC),
        "tenant": "demo",
        "surface": "home",
        "user_id": "u1",
        "session_id": "s1",
        "item_id": "i9",
        "event_type": "purchase",
        "value": 12.5,
        "request_id": "r1",
        "rank": 3,
        "source_file": "a.jsonl",
        "source_line": 1,
    }


def test_frame_has_the_staging_schema() -> None:
    assert dict(parse(raw_line()).frame().schema) == STAGING_SCHEMA
    assert dict(parse().frame().schema) == STAGING_SCHEMA


def test_optional_fields_default_to_null_and_event_type_to_exposure() -> None:
    row = only_row(parse(raw_line(event={"ts": DAY_START_MS, "item_id": "i1"})))
    assert row["event_type"] == "exposure"
    assert row["tenant"] == "demo"
    assert row["surface"] == "home"
    for name in ("user_id", "session_id", "value", "request_id", "rank"):
        assert row[name] is None


def test_integer_ids_become_strings() -> None:
    row = only_row(parse(raw_line(item_id=42, user_id=7, session_id=0)))
    assert (row["item_id"], row["user_id"], row["session_id"]) == ("42", "7", "0")


@pytest.mark.parametrize(
    ("ts", "expected_ms"),
    [
        ("2026-11-20T00:00:00Z", DAY_START_MS),
        ("2026-11-20T00:00:00+00:00", DAY_START_MS),
        ("2026-11-20T02:00:00+02:00", DAY_START_MS),
        ("2026-11-19T23:30:00-01:00", DAY_START_MS + 1_800_000),
        ("2026-11-20T00:00:00.123Z", DAY_START_MS + 123),
        ("2026-11-20T00:00:00.123999Z", DAY_START_MS + 123),
        ("2026-11-20T00:00:00.123456789Z", DAY_START_MS + 123),
        ("2026-11-20t00:00:01z", DAY_START_MS + 1000),
        (DAY_START_MS + 5, DAY_START_MS + 5),
        (float(DAY_START_MS + 5), DAY_START_MS + 5),
        (DAY_START_MS + 5.9, DAY_START_MS + 5),
    ],
)
def test_rfc3339_and_epoch_ms_timestamps(ts: str | int | float, expected_ms: int) -> None:
    assert parse_ts(ts) == expected_ms
    row = only_row(parse(raw_line(ts=ts)))
    assert row["ts"] == dt.datetime.fromtimestamp(expected_ms / 1000, dt.UTC)


def test_partition_day_is_half_open() -> None:
    assert day_bounds_ms(DAY) == (DAY_START_MS, DAY_END_MS)
    assert only_row(parse(raw_line(ts=DAY_START_MS)))
    assert only_row(parse(raw_line(ts=DAY_END_MS - 1)))
    assert only_reason(raw_line(ts=DAY_END_MS)) == "ts_outside_partition"
    assert only_reason(raw_line(ts=DAY_START_MS - 1)) == "ts_outside_partition"
    assert only_reason(raw_line(ts="2026-11-21T01:30:00+01:00")) == "ts_outside_partition"


def test_derived_event_id_is_deterministic_and_content_based() -> None:
    first = only_row(parse(raw_line(), name="a.jsonl"))["event_id"]
    again = only_row(parse(raw_line(), name="other.jsonl"))["event_id"]
    other = only_row(parse(raw_line(item_id="i2")))["event_id"]
    assert first == again
    assert first != other
    assert first.startswith("d-")
    assert len(first) == 34


def test_equal_instants_in_either_ts_form_derive_the_same_id() -> None:
    as_ms = only_row(parse(raw_line(ts=DAY_START_MS + 1000)))["event_id"]
    as_text = only_row(parse(raw_line(ts="2026-11-20T01:00:01+01:00")))["event_id"]
    assert as_ms == as_text


def test_given_event_id_is_kept() -> None:
    assert only_row(parse(raw_line(event_id="client-7")))["event_id"] == "client-7"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b'{"ts": 1', "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"ts": 1763600000000, "item_id": "\xff"}', "invalid_json"),
        (b'{"ts": 1763600000000, "item_id": "caf\xc3"}', "invalid_json"),
        (b'{"ts": 1763600000000, "item_id": "\\ud800"}', "invalid_json"),
        (b"[1, 2]", "schema"),
        (b"42", "schema"),
        (b"null", "schema"),
        (raw_line(event={"item_id": "i1"}), "schema"),
        (raw_line(event={"ts": DAY_START_MS}), "schema"),
        (raw_line(item_id=None), "schema"),
        (b'{"ts": 1763600000000, "item_id": null}', "schema"),
        (raw_line(ts=True), "schema"),
        (raw_line(ts=[1]), "schema"),
        (raw_line(item_id=1.5), "schema"),
        (raw_line(event_type=3), "schema"),
        (raw_line(value="high"), "schema"),
        (b'{"ts": 1763600000000, "item_id": "i", "value": 1e999}', "schema"),
        (raw_line(rank=1.5), "schema"),
        (raw_line(tenant=5), "schema"),
        (raw_line(ts="yesterday"), "invalid_ts"),
        (raw_line(ts="2026-11-20T10:00:00"), "invalid_ts"),
        (raw_line(ts=""), "invalid_ts"),
        (raw_line(ts=-1), "invalid_ts"),
        (raw_line(ts=10**16), "invalid_ts"),
        (b'{"ts": 1e999, "item_id": "i"}', "schema"),
        (raw_line(ts="2026-11-19T23:59:59.999Z"), "ts_outside_partition"),
        (raw_line(ts=1_763_596_800), "ts_outside_partition"),
        (raw_line(event_type="view"), "invalid_event_type"),
        (raw_line(event_type="Click"), "invalid_event_type"),
        (raw_line(event_type=""), "invalid_event_type"),
        (raw_line(tenant="acme"), "tenant_mismatch"),
        (raw_line(tenant="Demo"), "tenant_mismatch"),
        (raw_line(surface="web"), "surface_mismatch"),
        (raw_line(item_id=""), "invalid_id"),
        (raw_line(item_id="x" * (MAX_ID_CHARS + 1)), "invalid_id"),
        (raw_line(item_id="a\tb"), "invalid_id"),
        (raw_line(user_id="a\x7fb"), "invalid_id"),
        (raw_line(session_id=""), "invalid_id"),
        (raw_line(request_id="\n"), "invalid_id"),
        (raw_line(event_id=""), "invalid_id"),
        (raw_line(rank=-1), "invalid_rank"),
        (raw_line(rank=2**31), "invalid_rank"),
        (raw_line(item_id="x" * MAX_LINE_BYTES), "line_too_long"),
    ],
)
def test_each_bad_line_is_quarantined_with_its_reason(line: bytes, reason: str) -> None:
    assert only_reason(line) == reason


def test_longest_allowed_id_and_rank_are_accepted() -> None:
    row = only_row(parse(raw_line(item_id="x" * MAX_ID_CHARS, rank=2**31 - 1)))
    assert row["rank"] == 2**31 - 1


def test_rejected_records_say_where_why_and_keep_the_line() -> None:
    result = parse(raw_line(), b"{oops", raw_line(event_type="view"), name="f.jsonl")
    assert [(r["file"], r["line"], r["reason"]) for r in result.rejected] == [
        ("f.jsonl", 2, "invalid_json"),
        ("f.jsonl", 3, "invalid_event_type"),
    ]
    assert result.rejected[0]["raw"] == "{oops"
    assert "view" in str(result.rejected[1]["detail"])
    assert "click" in str(result.rejected[1]["detail"])
    assert result.reasons == {"invalid_event_type": 1, "invalid_json": 1}


def test_bad_utf8_inside_a_string_is_quarantined_not_raised() -> None:
    result = parse(raw_line(), b'{"ts": 1763600000000, "item_id": "a\xffb"}', raw_line())
    assert result.frame().height == 2
    assert result.rejected[0]["reason"] == "invalid_json"
    assert "not UTF-8" in str(result.rejected[0]["detail"])
    assert result.rejected[0]["raw"] == '{"ts": 1763600000000, "item_id": "a\\xffb"}'


def test_undecodable_bytes_are_kept_escaped_in_the_record() -> None:
    result = parse(b"\xff{")
    assert result.rejected[0]["raw"] == "\\xff{"


def test_blank_lines_are_counted_apart_and_crlf_is_accepted() -> None:
    content = raw_line() + b"\r\n\r\n   \n" + raw_line(item_id="i2") + b"\r\n"
    result = parse_files([("a.jsonl", content)], "demo", "home", DAY)
    assert result.lines == 2
    assert result.blank_lines == 2
    assert result.frame()["item_id"].to_list() == ["i1", "i2"]
    assert result.frame()["source_line"].to_list() == [1, 4]


def test_several_files_keep_their_names_and_line_numbers() -> None:
    files = [("a.jsonl", raw_file([raw_event()])), ("b.jsonl", raw_file([raw_event()] * 2))]
    frame = parse_files(files, "demo", "home", DAY).frame()
    assert frame.select("source_file", "source_line").rows() == [
        ("a.jsonl", 1),
        ("b.jsonl", 1),
        ("b.jsonl", 2),
    ]


def test_unknown_fields_are_ignored() -> None:
    assert only_row(parse(raw_line(colour="red")))["item_id"] == "i1"


@pytest.mark.parametrize(("tenant", "surface"), [("Demo", "home"), ("demo", "../x")])
def test_invalid_scope_names_are_refused_before_parsing(tenant: str, surface: str) -> None:
    with pytest.raises(InvalidName):
        parse_files([("a.jsonl", raw_line())], tenant, surface, DAY)


def test_parse_ts_rejects_non_finite_numbers() -> None:
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(Rejected, match="out of range"):
            parse_ts(value)


garbage_lines = st.one_of(
    st.binary(max_size=40),
    st.builds(raw_line, event_type=st.text(max_size=8)),
    st.builds(raw_line, ts=st.integers(-(10**15), 10**15)),
    st.builds(raw_line, item_id=st.text(max_size=5)),
    st.builds(raw_line, rank=st.integers(-5, 2**32)),
    st.builds(raw_line, tenant=st.sampled_from(["demo", "acme"])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(raw_events().map(raw_line), garbage_lines), max_size=30))
def test_nothing_is_lost_accepted_plus_rejected_equals_lines(lines: list[bytes]) -> None:
    content = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines)
    result = parse_files([("a.jsonl", content)], "demo", "home", DAY)
    frame = result.frame()
    assert frame.height + len(result.rejected) == result.lines
    assert result.lines + result.blank_lines == len(content.splitlines())
    assert sum(result.reasons.values()) == len(result.rejected)
    rejected_lines = {r["line"] for r in result.rejected}
    assert rejected_lines.isdisjoint(frame["source_line"].to_list())


@settings(max_examples=60, deadline=None)
@given(st.lists(raw_events(), min_size=1, max_size=20))
def test_generated_valid_events_are_all_accepted_inside_the_day(
    events: list[dict[str, Any]],
) -> None:
    result = parse_files([("a.jsonl", raw_file(events))], "demo", "home", DAY)
    assert result.rejected == []
    frame = result.frame()
    assert frame.height == len(events)
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
    assert frame.filter(
        (pl.col("ts") < start) | (pl.col("ts") >= start + dt.timedelta(days=1))
    ).is_empty()
    reparsed = parse_files([("b.jsonl", raw_file(events))], "demo", "home", DAY).frame()
    assert reparsed["event_id"].to_list() == frame["event_id"].to_list()


def test_raw_line_builder_produces_compact_json() -> None:
    assert msgspec.json.decode(raw_line(item_id="x"))["item_id"] == "x"


# --- the column-wise parser gives exactly what the per-line parser gave ------------------------

REFERENCE_DIGEST = "e41f7d07d33f1f021bd1c6f3e20f978afdce8f03eb63890601174eb644a2f633"


def outcome_digest(result: ParseResult) -> str:
    rows = result.frame().with_columns(pl.col("ts").dt.epoch("ms")).rows()
    encoded = msgspec.json.encode([rows, result.rejected, result.lines, result.blank_lines])
    return hashlib.sha256(encoded).hexdigest()


def test_synthetic_day_with_bad_lines_parses_as_before_the_column_wise_path() -> None:
    data = generate_day(
        11, DAY, "demo", "home", events_per_day=4000, n_users=300, n_items=400, bad_line_rate=0.01
    )
    result = assert_same_as_reference([("synthetic.jsonl", data)])
    # Digest computed with the per-line implementation before the change (same seed and day).
    assert outcome_digest(result) == REFERENCE_DIGEST
    assert set(result.reasons) == {
        "invalid_event_type",
        "invalid_json",
        "schema",
        "tenant_mismatch",
    }


EDGE_LINES = [
    raw_line(ts=float(DAY_START_MS + 5)),
    raw_line(ts=DAY_START_MS + 5.9),
    raw_line(ts="2026-11-20 10:00:00+00:00"),
    raw_line(ts="2026-11-20T10:00:00,5Z"),
    raw_line(ts="2026-11-20T10:00:00.1234567891Z"),
    raw_line(ts="2026-11-20T10:00:00.1z"),
    raw_line(ts="2026-11-20t10:00:00.123456789+01:00"),
    raw_line(ts="2026-11-20T10:00:00+02:60"),
    raw_line(ts="2026-11-20T10:00:00+24:00"),
    raw_line(ts="2026-11-20T10:00:60Z"),
    raw_line(ts="2026-11-20T24:00:00Z"),
    raw_line(ts="2026-02-29T10:00:00Z"),
    raw_line(ts="2024-02-29T10:00:00Z"),
    raw_line(ts="0000-01-01T00:00:00Z"),
    raw_line(ts="0001-01-01T00:00:00+01:00"),
    raw_line(ts="9999-12-31T23:59:59.999Z"),
    raw_line(ts="2026-11-20T10:00:00-00:00"),
    raw_line(ts="\uff12\uff10\uff12\uff16-11-20T10:00:00Z"),
    raw_line(ts="2026-11-20T10:00:00Z\n"),
    raw_line(ts=-(2**70)),
    raw_line(ts=2**70),
    raw_line(ts=2**64 - 1),
    raw_line(rank=2**70),
    raw_line(rank=-(2**70)),
    raw_line(rank=2**31 - 1),
    raw_line(user_id=-(2**70), session_id=2**64, item_id=0, request_id="r"),
    raw_line(value=5),
    raw_line(value=-0.0),
    raw_line(value=1e308),
    raw_line(item_id="é" * MAX_ID_CHARS),
    raw_line(item_id="é" * (MAX_ID_CHARS + 1)),
    raw_line(item_id="a\u0085b"),
    raw_line(item_id="a\x00b"),
    raw_line(tenant=None, surface=None, event_id=None),
    raw_line(event={"ts": DAY_START_MS, "item_id": "i", "event_id": None}),
    b'  {"ts": 1763600000000, "item_id": "padded"}  ',
    b'{"ts": 1763600000000, "item_id": "a"} {"ts": 1763600000000, "item_id": "b"}',
    b'{"ts": 1763600000000, "item_id": "i", "ts": "2026-11-20T00:00:00Z"}',
    b"\x0c",
    b"\x0b{}",
]


def test_edge_case_lines_are_decided_as_by_the_per_line_parser() -> None:
    content = b"\n".join(line.replace(b"\n", b"\\n") for line in EDGE_LINES)
    assert_same_as_reference([("a.jsonl", content), ("empty.jsonl", b""), ("b.jsonl", content)])


timestamps = st.one_of(
    st.integers(DAY_START_MS - 10, DAY_START_MS + 86_400_010),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda t: t.isoformat()),
    st.from_regex(
        r"\A(19|20|99)[0-9]{2}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9]"
        r"(\.[0-9]{0,10})?([Zz]|[+-][0-2][0-9]:[0-6][0-9])?\Z"
    ),
    st.text(max_size=12),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            raw_events().map(raw_line),
            garbage_lines,
            st.builds(raw_line, ts=timestamps),
            st.builds(raw_line, ts=timestamps, event_id=st.none(), value=st.floats()),
            st.builds(raw_line, user_id=st.one_of(st.integers(), st.text(max_size=4))),
            st.just(b"   "),
        ),
        max_size=40,
    )
)
def test_any_mix_of_lines_is_decided_as_by_the_per_line_parser(lines: list[bytes]) -> None:
    content = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines)
    assert_same_as_reference([("a.jsonl", content)])


def test_a_day_at_scale_keeps_every_good_line_and_quarantines_each_planted_one() -> None:
    """50k lines (speed is measured by bench/pipeline.py, not here)."""
    data = generate_day(5, DAY, "demo", "home", events_per_day=50_000, bad_line_rate=0.01)
    result = parse_files([("s.jsonl", data)], "demo", "home", DAY)
    staged = set(result.frame()["source_line"].to_list())
    rejected = [int(str(r["line"])) for r in result.rejected]
    assert len(staged) + len(rejected) == result.lines == len(data.splitlines())
    assert 0.005 * result.lines < len(rejected) < 0.015 * result.lines  # 1% planted
    # The generator plants each bad line right after its original, which is good.
    assert all(line - 1 in staged for line in rejected)
    assert set(result.reasons) <= {
        "invalid_event_type", "invalid_json", "schema", "tenant_mismatch"
    }  # fmt: skip

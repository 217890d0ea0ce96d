from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from recsys_algo.contracts.canonical import (
    RowGroupWriter,
    canonicalize,
    canonicalize_parquet,
    from_parquet_bytes,
    schema_problems,
    to_parquet_bytes,
)
from recsys_algo.contracts.events import CANONICAL_SCHEMA, STAGING_SCHEMA, parse_files
from tests.support.builders import DAY, DAY_START, canonical_frame, raw_file, staging_frame
from tests.support.event_oracle import reference_canonicalize_parquet
from tests.support.strategies import raw_events


def at(minutes: int) -> dt.datetime:
    return DAY_START + dt.timedelta(minutes=minutes)


def test_output_has_the_canonical_schema_and_drops_source_columns() -> None:
    canonical, duplicates = canonicalize(staging_frame([{}, {}]))
    assert dict(canonical.schema) == CANONICAL_SCHEMA
    assert duplicates == 0
    assert schema_problems(canonical) == []


def test_rows_are_sorted_by_ts_then_event_id() -> None:
    staged = staging_frame(
        [
            {"event_id": "b", "ts": at(5)},
            {"event_id": "c", "ts": at(1)},
            {"event_id": "a", "ts": at(5)},
        ]
    )
    canonical, _ = canonicalize(staged)
    assert canonical["event_id"].to_list() == ["c", "a", "b"]


def test_duplicates_by_event_id_keep_the_earliest_then_first_source_line() -> None:
    staged = staging_frame(
        [
            {"event_id": "x", "ts": at(9), "item_id": "late"},
            {"event_id": "x", "ts": at(2), "item_id": "b-file", "source_file": "b.jsonl"},
            {"event_id": "x", "ts": at(2), "item_id": "a-line9", "source_line": 9},
            {"event_id": "x", "ts": at(2), "item_id": "a-line3", "source_line": 3},
            {"event_id": "y", "ts": at(1)},
        ]
    )
    canonical, duplicates = canonicalize(staged)
    assert duplicates == 3
    assert canonical.select("event_id", "item_id").rows() == [("y", "i1"), ("x", "a-line3")]


def test_empty_staging_gives_empty_canonical() -> None:
    canonical, duplicates = canonicalize(staging_frame([]))
    assert canonical.height == 0
    assert duplicates == 0
    assert dict(canonical.schema) == CANONICAL_SCHEMA


def test_canonicalizing_canonical_output_changes_nothing() -> None:
    staged = staging_frame([{"event_id": "b", "ts": at(3)}, {"event_id": "a", "ts": at(3)}])
    canonical, _ = canonicalize(staged)
    again, duplicates = canonicalize(canonical)
    assert duplicates == 0
    assert_frame_equal(again, canonical)
    assert to_parquet_bytes(again) == to_parquet_bytes(canonical)


def test_canonical_frame_builder_is_already_canonical() -> None:
    frame = canonical_frame([{"item_id": "a"}, {"item_id": "b"}])
    assert_frame_equal(canonicalize(frame)[0], frame)


def test_parquet_roundtrip_preserves_schema_and_rows() -> None:
    canonical, _ = canonicalize(staging_frame([{"value": 1.5, "rank": 2}, {"user_id": "u"}]))
    assert_frame_equal(from_parquet_bytes(to_parquet_bytes(canonical)), canonical)


def _staged(events: list[dict[str, Any]], order: list[int]) -> pl.DataFrame:
    files = [(f"f{i:03d}.jsonl", raw_file([events[i]])) for i in order]
    return parse_files(files, "demo", "home", DAY).frame()


@settings(max_examples=40, deadline=None)
@given(st.lists(raw_events(), min_size=1, max_size=15), st.randoms(use_true_random=False))
def test_same_events_in_any_file_order_give_identical_parquet_bytes(
    events: list[dict[str, Any]], rnd: Any
) -> None:
    # Name each event's file by its index, so shuffling only changes input order.
    copies = len(events) // 2
    events = events + events[:copies]  # some exact duplicates
    order = list(range(len(events)))
    shuffled = order[:]
    rnd.shuffle(shuffled)
    first, dup_a = canonicalize(_staged(events, order))
    second, dup_b = canonicalize(_staged(events, shuffled).sample(fraction=1.0, seed=1))
    assert dup_a == dup_b >= copies
    assert to_parquet_bytes(first) == to_parquet_bytes(second)
    assert first["event_id"].n_unique() == first.height
    again, dup_again = canonicalize(first)
    assert dup_again == 0
    assert to_parquet_bytes(again) == to_parquet_bytes(first)


def test_rerun_writes_identical_bytes() -> None:
    staged = staging_frame([{"item_id": f"i{i % 7}", "event_id": f"e{i % 50}"} for i in range(200)])
    assert to_parquet_bytes(canonicalize(staged)[0]) == to_parquet_bytes(canonicalize(staged)[0])


def test_schema_problems_name_missing_wrong_and_unexpected_columns() -> None:
    frame = (
        canonical_frame([{}])
        .drop("rank")
        .with_columns(pl.col("value").cast(pl.Float32()), extra=pl.lit(1))
    )
    assert schema_problems(frame) == [
        "column value is Float32, expected Float64",
        "column rank is missing",
        "unexpected column extra",
    ]


def test_schema_problems_catch_a_naive_or_wrong_unit_timestamp() -> None:
    naive = canonical_frame([{}]).with_columns(pl.col("ts").dt.replace_time_zone(None))
    micro = canonical_frame([{}]).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    assert len(schema_problems(naive)) == 1
    assert "column ts is Datetime(time_unit='us'" in schema_problems(micro)[0]


@pytest.mark.parametrize("column", list(CANONICAL_SCHEMA))
def test_schema_problems_report_each_missing_column(column: str) -> None:
    assert schema_problems(canonical_frame([{}]).drop(column)) == [f"column {column} is missing"]


@settings(max_examples=40, deadline=None)
@given(st.lists(raw_events(), min_size=0, max_size=15), st.randoms(use_true_random=False))
def test_canonical_from_the_staged_file_column_by_column_equals_the_whole_frame_sort(
    events: list[dict[str, Any]], rnd: Any
) -> None:
    events = events + events[: len(events) // 2]  # exact duplicates, some in one file
    order = list(range(len(events))) + [rnd.randrange(len(events)) for _ in events[:3]]
    staged = to_parquet_bytes(_staged(events, order))
    expected, duplicates = reference_canonicalize_parquet(staged)
    for frame, removed in (canonicalize_parquet(staged), canonicalize(from_parquet_bytes(staged))):
        assert removed == duplicates
        assert to_parquet_bytes(frame) == to_parquet_bytes(expected)
    canonical = to_parquet_bytes(expected)  # a canonical file (no source columns) stays as it is
    assert to_parquet_bytes(canonicalize_parquet(canonical)[0]) == canonical


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=8), st.integers(1, 7))
def test_row_group_writer_bytes_depend_on_the_rows_not_their_cuts(
    cuts: list[int], rows: int
) -> None:
    frame = staging_frame([{"event_id": f"e{i}", "item_id": f"i{i % 3}"} for i in range(sum(cuts))])
    whole, cut = RowGroupWriter(STAGING_SCHEMA, rows), RowGroupWriter(STAGING_SCHEMA, rows)
    whole.append(frame)
    start = 0
    for size in cuts:
        cut.append(frame.slice(start, size))
        start += size
    data = cut.close()
    assert data == whole.close()
    assert_frame_equal(from_parquet_bytes(data), frame)


def test_row_group_writer_refuses_rows_of_another_schema() -> None:
    writer = RowGroupWriter(STAGING_SCHEMA)
    with pytest.raises(ValueError, match="rows of schema"):
        writer.append(canonical_frame([{}]))
    assert dict(from_parquet_bytes(writer.close()).schema) == STAGING_SCHEMA
